package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
)

// The console in a real browser (headless Chromium), against a whole
// orderflow on the test's own slice of the real servers. The worker is
// held back at first, so the orders stay PENDING while their pages are
// opened; starting it then must move them on in the open pages, live.
//
// Steps, in one browser: sign in with an admin token; find a fresh order
// by its customer's email; on another order's page, a cancellation with a
// reason the API refuses (a line break) shows INVALID_ORDER_DATA, and a
// proper one is accepted; with both pages open, the worker starts: the
// first turns CONFIRMED and the cancelled one CANCELLED, without a reload;
// a customer's token is refused at sign-in and, put in the session by
// hand, gets FORBIDDEN instead of data. Screenshots of each page go to
// docs/console/.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	f := setup(t)
	base := f.sys.URL
	toConfirm := f.placeOrder(t, f.customer.ID)
	toCancel := f.placeOrder(t, f.customer.ID)
	browser := startBrowser(t)

	// Sign in: the console sends to the sign-in page first and back after.
	ops := newTab(t, browser)
	opsErrors := consoleErrors(t, ops)
	do(t, ops, chromedp.Navigate(base+"/console/orders"), chromedp.WaitVisible(chromedp.CSS("#token")))
	loc, err := chromedp.Run(ops, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, loc, "/console/sign-in?next=")
	screenshot(t, ops, "sign-in")
	requireReadable(t, ops, "sign in")
	signIn(t, ops, base, f.admin)

	// Search by the customer's email: both orders, PENDING, with the
	// filter in the URL.
	require.Eventually(t, func() bool {
		do(t, ops,
			chromedp.Navigate(base+"/console/orders"),
			chromedp.WaitVisible(chromedp.CSS("#text")),
			chromedp.SetValue(chromedp.CSS("#text"), f.customer.Email),
			chromedp.Click(chromedp.CSS(`form.search button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("#results #total, #results .error")),
		)
		// The unfiltered list shown before the search swaps in holds the
		// same two orders: the search has answered once its filter is in
		// the URL (htmx pushes it with the results).
		loc, err := chromedp.Run(ops, chromedp.Location())
		return err == nil && strings.Contains(loc, "text="+url.QueryEscape(f.customer.Email)) &&
			strings.HasPrefix(text(ops, "#total"), "2 orders")
	}, 60*time.Second, 500*time.Millisecond, "the search should find the customer's two orders with the filter in the URL; it shows %q", text(ops, "#results"))
	require.Contains(t, text(ops, `tr[data-order-id="`+toConfirm.ID+`"]`), "PENDING")
	require.Contains(t, text(ops, `tr[data-order-id="`+toCancel.ID+`"]`), f.customer.Email)
	require.Contains(t, text(ops, `a[data-facet="status"][data-value="PENDING"]`), "2")
	screenshot(t, ops, "orders")
	requireReadable(t, ops, "orders")
	// Keyboard: the search, its button, the facets and the orders are
	// all tab stops.
	stops := strings.Join(tabStops(t, ops, 45), " ")
	for _, want := range []string{"input#text", "button", "[facet=PENDING]", "[facet=ORDER_CREATED]", "/console/orders/" + toConfirm.ID} {
		require.Contains(t, stops, want, "tab stops: %s", stops)
	}

	// A facet narrows the search, and the link is the search.
	do(t, ops, chromedp.Click(chromedp.CSS(`a[data-facet="status"][data-value="CONFIRMED"]`)))
	require.Eventually(t, func() bool {
		loc, err = chromedp.Run(ops, chromedp.Location())
		return err == nil && strings.Contains(loc, "status=CONFIRMED")
	}, 30*time.Second, 50*time.Millisecond, "the facet's link is the search; at %s", loc)
	waitText(t, ops, "#total", "0 orders", 30*time.Second)

	// Open the order to cancel from the results, by keyboard.
	do(t, ops, chromedp.Navigate(base+"/console/orders?text="+url.QueryEscape(f.customer.Email)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-order-id="`+toCancel.ID+`"] a`)),
		chromedp.Focus(chromedp.CSS(`tr[data-order-id="`+toCancel.ID+`"] a`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#order-status")))
	waitText(t, ops, "#order-status", "PENDING", 30*time.Second)
	waitText(t, ops, "#live", "Live", 30*time.Second)

	// A refused action shows its code: a reason with a line break.
	do(t, ops,
		chromedp.Focus(chromedp.CSS("#cancel-order")),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#cancel-dialog #reason")),
		chromedp.SetValue(chromedp.CSS("#reason"), "changed\nmind"),
		chromedp.Click(chromedp.CSS("#confirm-cancel")),
	)
	waitText(t, ops, "#action-result", "INVALID_ORDER_DATA", 30*time.Second)
	waitText(t, ops, "#order-status", "PENDING", time.Second)
	screenshot(t, ops, "order-refused")
	requireReadable(t, ops, "a refused action")

	// Confirmed, the cancellation is requested; the order ends CANCELLED
	// once the saga runs.
	do(t, ops,
		chromedp.Click(chromedp.CSS("#cancel-order")),
		chromedp.WaitVisible(chromedp.CSS("#cancel-dialog #reason")),
		chromedp.SetValue(chromedp.CSS("#reason"), "customer called"),
		chromedp.Click(chromedp.CSS("#confirm-cancel")),
	)
	waitText(t, ops, "#action-result", "Cancellation requested", 30*time.Second)
	waitText(t, ops, "#order", "Cancellation requested", 30*time.Second)

	// The other order, in a tab of its own (signed in again: the token
	// lives in the tab's session only).
	watch := newTab(t, browser)
	watchErrors := consoleErrors(t, watch)
	signIn(t, watch, base, f.admin)
	do(t, watch, chromedp.Navigate(base+"/console/orders/"+toConfirm.ID), chromedp.WaitVisible(chromedp.CSS("#order-status")))
	waitText(t, watch, "#order-status", "PENDING", 30*time.Second)
	waitText(t, watch, "#live", "Live", 30*time.Second)
	screenshot(t, watch, "order-pending")
	requireReadable(t, watch, "a pending order")
	// Marks both pages: a reload would lose the mark.
	for _, tab := range []context.Context{ops, watch} {
		do(t, tab, chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))
	}

	f.sys.StartWorker(f.sys.Service)
	waitText(t, watch, "#order-status", "CONFIRMED", 60*time.Second)
	waitText(t, ops, "#order-status", "CANCELLED", 60*time.Second)
	for _, tab := range []context.Context{ops, watch} {
		kept, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__notReloaded === true`))
		require.NoError(t, err)
		require.True(t, kept, "the page changed without a reload")
	}
	require.Equal(t, "CANCELLED", f.orderStatus(t, toCancel.ID))
	waitText(t, watch, `li[data-step="ORDER_CONFIRMED"]`, "done", 30*time.Second)
	waitText(t, watch, "#live", "Final", 30*time.Second)
	require.Empty(t, text(watch, "#cancel-order"), "a confirmed order offers no cancellation")
	waitText(t, watch, `#order tr[data-context="payments"]`, "PaymentAuthorized", 30*time.Second)
	screenshot(t, watch, "order-confirmed")
	requireReadable(t, watch, "a confirmed order")
	waitText(t, ops, "#order", "OrderCancelled", 30*time.Second)
	// The story of every context: the stock reserved at placement was
	// released.
	waitText(t, ops, `#order tr[data-context="inventory"]`, "StockReserved", 30*time.Second)
	waitText(t, ops, "#order", "StockReleased", 30*time.Second)
	screenshot(t, ops, "order-cancelled")
	requireReadable(t, ops, "a cancelled order")

	require.Empty(t, opsErrors(), "the pages run without errors (scripts, the Content Security Policy)")
	require.Empty(t, watchErrors(), "the pages run without errors (scripts, the Content Security Policy)")

	// Health and the dead letters' page.
	do(t, ops, chromedp.Navigate(base+"/console/health"), chromedp.WaitVisible(chromedp.CSS(`tr[data-projection="orders"]`)))
	waitText(t, ops, `li[data-dependency="postgres"]`, "up", 30*time.Second)
	waitText(t, ops, `li[data-breaker="elasticsearch"]`, "CLOSED", 30*time.Second)
	waitText(t, ops, `li[data-breaker="payment_provider"]`, "CLOSED", 30*time.Second)
	screenshot(t, ops, "health")
	requireReadable(t, ops, "health")
	// This orderflow has no dead letters (TestDeadLettersInABrowser makes some).
	do(t, ops, chromedp.Navigate(base+"/console/dead-letters"), chromedp.WaitVisible(chromedp.CSS("#dead-letters #total")))
	waitText(t, ops, "#dead-letters #total", "0 entries", 30*time.Second)
	requireReadable(t, ops, "dead letters")

	// At 390 px: nothing wider than the screen.
	phone := newTab(t, browser)
	signIn(t, phone, base, f.admin)
	do(t, phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for _, p := range []struct{ name, path string }{
		{"orders-390", "/console/orders?text=" + url.QueryEscape(f.customer.Email)},
		{"order-390", "/console/orders/" + toConfirm.ID},
		{"", "/console/sign-in"},
		{"", "/console/health"},
	} {
		do(t, phone, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
		require.Eventually(t, func() bool {
			m := text(phone, "main")
			return m != "" && !strings.Contains(m, "Loading")
		}, 30*time.Second, 100*time.Millisecond)
		width, err := chromedp.Run(phone, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 390, "%s fits 390 px", p.path)
		if p.name != "" {
			screenshot(t, phone, p.name)
		}
	}

	// A customer's token: refused at sign-in, and refused the data when
	// put into the session by hand.
	customerToken := f.token(t, f.customer.ID, auth.RoleCustomer)
	other := newTab(t, browser)
	do(t, other,
		chromedp.Navigate(base+"/console/sign-in"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), customerToken),
		chromedp.Click(chromedp.CSS(`#sign-in-form button[type="submit"]`)),
	)
	waitText(t, other, "#sign-in-result", "FORBIDDEN", 30*time.Second)
	stored, err := chromedp.Run(other, chromedp.Evaluate[bool](`sessionStorage.getItem("orderflow.console.token") !== null`))
	require.NoError(t, err)
	require.False(t, stored, "a refused token is not kept")
	do(t, other, chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("orderflow.console.token", `+jsString(customerToken)+`)`))
	do(t, other, chromedp.Navigate(base+"/console/orders"), chromedp.WaitVisible(chromedp.CSS("#results")))
	waitText(t, other, "#results", "FORBIDDEN", 30*time.Second)
	require.Empty(t, text(other, "table.orders"), "no order is shown")
	screenshot(t, other, "customer-refused")
	do(t, other, chromedp.Navigate(base+"/console/health"), chromedp.WaitVisible(chromedp.CSS("#health")))
	waitText(t, other, "#health", "FORBIDDEN", 30*time.Second)
	require.Empty(t, text(other, `tr[data-projection]`))
	// An order page is refused too (its story spans every context: admin only).
	stranger := f.registerCustomer(t, "Someone Else")
	strangers := f.placeOrder(t, stranger.ID)
	do(t, other, chromedp.Navigate(base+"/console/orders/"+strangers.ID), chromedp.WaitVisible(chromedp.CSS("#order")))
	waitText(t, other, "#order", "FORBIDDEN", 30*time.Second)
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
