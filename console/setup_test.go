package console_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/query"
)

// fixture is an orderflow serving the console, with a catalog and a
// customer of the test's own.
type fixture struct {
	sys   *systemtest.System
	admin string
	// adminSubject is the admin token's subject: the actor of its actions.
	adminSubject string
	product      query.Product
	customer     query.Customer
}

// setup starts an orderflow without its worker: placed orders stay
// PENDING until the test calls sys.StartWorker.
func setup(t *testing.T) *fixture {
	t.Helper()
	return setupWith(t, systemtest.Start(t, systemtest.Options{API: true, NoWorker: true}))
}

// setupWith is setup on a system the test started its own way.
func setupWith(t *testing.T, sys *systemtest.System) *fixture {
	t.Helper()
	f := &fixture{sys: sys}
	f.adminSubject = "ops-" + uuid.NewString()[:8]
	f.admin = f.token(t, f.adminSubject, auth.RoleAdmin)
	ctx := context.Background()
	var err error
	f.product, err = sys.App.Commands.CreateProduct.Handle(ctx, systemtest.Admin,
		app.CreateProduct{SKU: "MUG-" + uuid.NewString()[:6], Name: "Blue mug", Price: 1250, InitialStock: 10})
	require.NoError(t, err)
	f.customer = f.registerCustomer(t, "Ada Lovelace")
	return f
}

func (f *fixture) registerCustomer(t *testing.T, name string) query.Customer {
	t.Helper()
	c, err := f.sys.App.Commands.RegisterCustomer.Handle(context.Background(), systemtest.Admin, app.RegisterCustomer{
		Email: "ada-" + uuid.NewString()[:8] + "@example.com", Name: name, InitialCredit: 100_00,
	})
	require.NoError(t, err)
	return c
}

func (f *fixture) token(t *testing.T, subject string, role auth.Role) string {
	t.Helper()
	tok, err := auth.Issue([]byte(f.sys.Env.Config.JWTSecret), subject, time.Hour, role)
	require.NoError(t, err)
	return tok
}

// placeOrder places an order of the fixture's customer for two mugs.
func (f *fixture) placeOrder(t *testing.T, customerID string) query.Order {
	t.Helper()
	o, err := f.sys.App.Commands.PlaceOrder.Handle(context.Background(), systemtest.Admin, app.PlaceOrder{
		CustomerID:      customerID,
		IdempotencyKey:  uuid.NewString(),
		Items:           []app.OrderItem{{ProductID: f.product.ID, Quantity: 2}},
		ShippingAddress: messages.Address{Street: "1 Main St", City: "Springfield", Zip: "12345", Country: "US"},
		PaymentMethod:   messages.PaymentMethod{Type: "card", Token: "tok_4242"},
	})
	require.NoError(t, err)
	return o
}

// orderStatus reads the order as the API does.
func (f *fixture) orderStatus(t *testing.T, id string) string {
	t.Helper()
	o, err := f.sys.App.Queries.Order.Handle(context.Background(), systemtest.Admin, id, 0)
	if err != nil {
		return ""
	}
	return string(o.Status)
}

// startBrowser starts headless Chromium (Debian's package) for the test.
// Without it the test fails: the console's tests are part of the suite.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	require.NoError(t, err, "the console's browser tests need Chromium: apt-get install chromium (deploy/local/deps start installs it)")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // the tests run as root
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("lang", "en-US"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(browser), "start chromium")
	return browser
}

// newTab opens a tab of its own (with its own session storage).
func newTab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(tab))
	return tab
}

// do runs actions on tab within 30 seconds.
func do(t *testing.T, tab context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	require.NoError(t, chromedp.Do(ctx, actions...))
}

// text is the visible text of the first element matching css, "" when
// there is none yet.
func text(tab context.Context, css string) string {
	ctx, cancel := context.WithTimeout(tab, 5*time.Second)
	defer cancel()
	found, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(function(){ var e = document.querySelector(%q); return e ? e.innerText : ""; })()`, css)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(found)
}

// waitText waits until the element matching css shows want.
func waitText(t *testing.T, tab context.Context, css, want string, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(text(tab, css), want) }, within, 100*time.Millisecond,
		"%s should show %q; it shows %q", css, want, text(tab, css))
}

// screenshot writes the tab's whole page to docs/console/NAME.png: the
// README shows them, and a run of the tests keeps them current.
func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	dir := filepath.Join("..", "docs", "console")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// signIn pastes token into the sign-in page and waits for the orders page.
func signIn(t *testing.T, tab context.Context, base, token string) {
	t.Helper()
	do(t, tab,
		chromedp.Navigate(base+"/console/sign-in"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SetValue(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS(`#sign-in-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#results")),
	)
}

// lowContrast lists the visible texts of the page whose colour against
// their background is below 4.5:1 (WCAG AA for normal text), as
// "text: ratio". The background is the first opaque one up the tree.
const lowContrast = `(function () {
  function rgb(s) { var m = s.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; }
  function lum(c) {
    var a = c.slice(0, 3).map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2];
  }
  function bg(el) {
    for (; el; el = el.parentElement) {
      var c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0.9) { return c; }
    }
    return [255, 255, 255, 1];
  }
  var out = [];
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (var n; (n = walker.nextNode());) {
    var el = n.parentElement, t = n.textContent.trim();
    if (!t || !el.getClientRects().length || getComputedStyle(el).visibility === "hidden") { continue; }
    var r = el.getBoundingClientRect();
    if (r.right < 0 || r.bottom < 0) { continue; } // the skip link, off screen until focused
    var a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
    var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) { out.push(t.slice(0, 40) + ": " + ratio.toFixed(2)); }
  }
  return out;
})()`

// requireReadable fails when a text of the page has too little contrast.
func requireReadable(t *testing.T, tab context.Context, page string) {
	t.Helper()
	low, err := chromedp.Run(tab, chromedp.Evaluate[[]string](lowContrast))
	require.NoError(t, err)
	require.Empty(t, low, "%s: texts below 4.5:1 contrast", page)
}

// tabStops walks the page with the Tab key and returns a description of
// each element that took the focus, in order.
func tabStops(t *testing.T, tab context.Context, max int) []string {
	t.Helper()
	do(t, tab, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	var stops []string
	for range max {
		do(t, tab, chromedp.KeyEvent("\t"))
		s, err := chromedp.Run(tab, chromedp.Evaluate[string](`(function (e) {
			return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.dataset.facet ? "[facet=" + e.dataset.value + "]" : "") +
				(e.getAttribute("href") || "") })(document.activeElement)`))
		require.NoError(t, err)
		stops = append(stops, s)
	}
	return stops
}

// consoleErrors collects what the tab's page writes to its console as an
// error (an uncaught exception, a script or style the Content Security
// Policy refused, a failed request) from now on.
func consoleErrors(t *testing.T, tab context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var errs []string
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				mu.Lock()
				errs = append(errs, m.String()+" ("+m.URL+")")
				mu.Unlock()
			}
		}
	}()
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(errs)
	}
}
