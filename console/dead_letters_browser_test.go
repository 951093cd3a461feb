package console_test

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/sagas"
)

// Dead letters in a real browser, made the way production makes them:
// a command on the inventory topic whose payload does not decode (dead
// at once, permanent), and a saga consumer that fails on the placements
// of one customer's orders (a bug injected around the real handler:
// transient, dead after the retry levels). The projector runs in a
// process of its own without the bug, so the orders are in the read
// model.
//
// Steps: find the poison command by its aggregate with the filter in the
// URL, see its counts, payload and error; a discard without a reason is
// refused with its code, one with a reason is recorded in the audit trail
// with the operator's name. With the bug fixed, one of an order's entries
// is replayed from its page and ends REPLAYED; the other order's page
// shows its dead letters and replays them all; a done saga's re-drive is
// refused with its code. A customer's token gets FORBIDDEN. The pages fit
// 390 px, are keyboard reachable and readable.
func TestDeadLettersInABrowser(t *testing.T) {
	t.Parallel()
	var broken atomic.Value // the customer whose placements the saga cannot handle
	broken.Store("")
	bug := func(next consumer.Handler) consumer.Handler {
		return func(ctx context.Context, batch []consumer.Message) error {
			for _, m := range batch {
				if id := broken.Load().(string); id != "" && strings.HasSuffix(m.Metadata.Get(messages.HeaderEventType), "OrderPlaced") &&
					bytes.Contains(m.Payload, []byte(id)) {
					return errors.New("saga bug: assignment to entry in nil map")
				}
			}
			return next(ctx, batch)
		}
	}
	sys := systemtest.Start(t, systemtest.Options{API: true, NoProjector: true, RetryLevels: []time.Duration{100 * time.Millisecond},
		Service: []service.Option{service.WithBatchMiddleware(bug), service.WithDeadLetterPolling(100 * time.Millisecond)}})
	sys.StartProjector(sys.Open())
	f := setupWith(t, sys)
	ctx := context.Background()
	store := sys.Service.DeadLetterStore()
	base := sys.URL

	// The poison command, keyed by an aggregate of its own.
	poisonKey := "poison-" + uuid.NewString()[:8]
	pub, err := kafka.NewPublisher(sys.Env.Config.KafkaBrokers, "console-test", watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	poison := message.NewMessage(watermill.NewUUID(), []byte(`{"productId":`))
	poison.Metadata.Set("name", "inventory.ReserveStock")
	poison.Metadata.Set(kafka.PartitionKeyHeader, poisonKey)
	require.NoError(t, pub.Publish(sys.Env.Config.Topic(bus.CommandTopic("inventory")), poison))

	// Two orders of the customer the bug hits.
	broken.Store(f.customer.ID)
	orderA, orderB := f.placeOrder(t, f.customer.ID), f.placeOrder(t, f.customer.ID)
	head := func(aggregate string) deadletter.Entry {
		var e deadletter.Entry
		require.Eventually(t, func() bool {
			page, err := store.List(ctx, deadletter.Filter{AggregateID: aggregate, Status: deadletter.StatusDead}, 10, 0)
			require.NoError(t, err)
			if page.Total != 1 {
				return false
			}
			e = page.Entries[0]
			return true
		}, 2*time.Minute, 50*time.Millisecond, "a dead letter of %s", aggregate)
		return e
	}
	poisoned, deadA, deadB := head(poisonKey), head(orderA.ID), head(orderB.ID)
	require.Equal(t, deadletter.Permanent, poisoned.Class)
	require.Equal(t, deadletter.Transient, deadA.Class)
	require.Equal(t, deadletter.Transient, deadB.Class)

	browser := startBrowser(t)
	ops := newTab(t, browser)
	opsErrors := consoleErrors(t, ops)
	signIn(t, ops, base, f.admin)

	// Find the poison command by its aggregate: the filter goes into the
	// URL, the counts and the list show it.
	do(t, ops,
		chromedp.Navigate(base+"/console/dead-letters"),
		chromedp.WaitVisible(chromedp.CSS("#aggregate")),
		chromedp.SetValue(chromedp.CSS("#aggregate"), poisonKey),
		chromedp.Click(chromedp.CSS("#filter-dead-letters")),
	)
	require.Eventually(t, func() bool {
		loc, err := chromedp.Run(ops, chromedp.Location())
		return err == nil && strings.Contains(loc, "aggregate="+poisonKey)
	}, 30*time.Second, 50*time.Millisecond, "the filter is in the URL")
	waitText(t, ops, "#dead-letters #total", "1 entry matches", 30*time.Second)
	row := `tr[data-dead-letter-id="` + idOf(poisoned) + `"]`
	waitText(t, ops, row, "DEAD", 30*time.Second)
	require.Contains(t, text(ops, row), "PERMANENT")
	require.Contains(t, text(ops, row), "inventory.commands")
	require.Equal(t, "1", text(ops, `tr[data-handler="inventory.commands"] td[data-class="PERMANENT"]`))
	require.Contains(t, text(ops, "#replay-aggregate"), "Replay the 1 open entry of this aggregate")
	screenshot(t, ops, "dead-letters")
	requireReadable(t, ops, "dead letters")
	stops := strings.Join(tabStops(t, ops, 30), " ")
	for _, want := range []string{"input#handler", "input#aggregate", "select#status", "select#class", "input#type", "button#filter-dead-letters", "/console/dead-letters/" + idOf(poisoned)} {
		require.Contains(t, stops, want, "tab stops: %s", stops)
	}

	// Its page: payload, error and audit trail.
	do(t, ops,
		chromedp.Focus(chromedp.CSS(row+" a")),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS("#dead-letter-status")),
	)
	require.Equal(t, `{"productId":`, text(ops, "#dead-letter-payload"))
	require.Equal(t, poisoned.Error, text(ops, "#dead-letter-error"))
	require.NotEmpty(t, poisoned.Error)
	waitText(t, ops, "#audit-trail", "dead by scheduler", 5*time.Second)
	screenshot(t, ops, "dead-letter")
	requireReadable(t, ops, "a dead letter")

	// Discard: a blank reason is refused with its code; a reason is kept.
	do(t, ops,
		chromedp.Click(chromedp.CSS("#discard-dead-letter")),
		chromedp.WaitVisible(chromedp.CSS("#discard-reason")),
		chromedp.SetValue(chromedp.CSS("#discard-reason"), "   "),
		chromedp.Click(chromedp.CSS("#confirm-discard")),
	)
	waitText(t, ops, "#action-result", "INVALID_ORDER_DATA", 30*time.Second)
	require.Equal(t, "DEAD", text(ops, "#dead-letter-status"))
	do(t, ops,
		chromedp.Click(chromedp.CSS("#discard-dead-letter")),
		chromedp.WaitVisible(chromedp.CSS("#discard-reason")),
		chromedp.SetValue(chromedp.CSS("#discard-reason"), "not a command of ours"),
		chromedp.Click(chromedp.CSS("#confirm-discard")),
	)
	waitText(t, ops, "#action-result", "Discarded", 30*time.Second)
	waitText(t, ops, "#dead-letter-status", "DISCARDED", 30*time.Second)
	waitText(t, ops, `#audit-trail li[data-action="discarded"]`, "by "+f.adminSubject, 5*time.Second)
	require.Contains(t, text(ops, `#audit-trail li[data-action="discarded"]`), "not a command of ours")
	require.Empty(t, text(ops, "#discard-dead-letter"), "a resolved entry offers no action")
	screenshot(t, ops, "dead-letter-discarded")
	got, err := store.Get(ctx, poisoned.ID)
	require.NoError(t, err)
	require.Equal(t, deadletter.StatusDiscarded, got.Status)

	// The bug fixed, order A's entry is replayed from its page.
	broken.Store("")
	do(t, ops, chromedp.Navigate(base+"/console/dead-letters/"+idOf(deadA)), chromedp.WaitVisible(chromedp.CSS("#replay-dead-letter")))
	require.Contains(t, text(ops, "#dead-letter-error"), "saga bug")
	require.Contains(t, text(ops, "#dead-letter-payload"), orderA.ID)
	do(t, ops,
		chromedp.Click(chromedp.CSS("#replay-dead-letter")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-replay")),
		chromedp.Click(chromedp.CSS("#confirm-replay")),
	)
	waitText(t, ops, "#action-result", "Replay requested for 1 entry", 30*time.Second)
	require.Eventually(t, func() bool {
		do(t, ops, chromedp.Click(chromedp.CSS(`.order-head button`)))
		return strings.Contains(text(ops, "#dead-letter-status"), "REPLAYED")
	}, time.Minute, 500*time.Millisecond, "replayed: the handler took it")
	require.Contains(t, text(ops, "#audit-trail"), "replay_requested by "+f.adminSubject)

	// Order B's page shows its dead letters and replays them all.
	do(t, ops, chromedp.Navigate(base+"/console/orders/"+orderB.ID), chromedp.WaitVisible(chromedp.CSS("#order-status")))
	waitText(t, ops, "#order-dead-letters", "1 dead", 30*time.Second)
	href, err := chromedp.Run(ops, chromedp.Evaluate[string](`document.getElementById("order-dead-letters-link").getAttribute("href")`))
	require.NoError(t, err)
	require.Equal(t, "/console/dead-letters?aggregate="+url.QueryEscape(orderB.ID), href)
	screenshot(t, ops, "order-dead-letters")
	requireReadable(t, ops, "an order with dead letters")
	do(t, ops,
		chromedp.Click(chromedp.CSS("#replay-order-dead-letters")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-replay-order")),
		chromedp.Click(chromedp.CSS("#confirm-replay-order")),
	)
	waitText(t, ops, "#action-result", "Replay requested", 30*time.Second)
	require.Eventually(t, func() bool {
		page, err := store.List(ctx, deadletter.Filter{AggregateID: orderB.ID}, 100, 0)
		require.NoError(t, err)
		for _, e := range page.Entries {
			if e.Status != deadletter.StatusReplayed {
				return false
			}
		}
		return page.Total > 0
	}, time.Minute, 100*time.Millisecond, "every entry of order B replayed")
	do(t, ops, chromedp.Navigate(base+"/console/orders/"+orderB.ID), chromedp.WaitVisible(chromedp.CSS("#order-status")))
	waitText(t, ops, "#order-dead-letters", "0 dead, 0 parked", 30*time.Second)
	require.Empty(t, text(ops, "#replay-order-dead-letters"), "nothing left to replay")

	// A done saga's re-drive is refused, with its code.
	saga := sys.Service.Sagas
	require.Eventually(t, func() bool {
		st, err := saga.Get(ctx, orderA.ID)
		require.NoError(t, err)
		return st != nil && st.Phase == sagas.PhaseDone
	}, time.Minute, 100*time.Millisecond, "order A's saga is done")
	do(t, ops, chromedp.Navigate(base+"/console/orders/"+orderA.ID), chromedp.WaitVisible(chromedp.CSS("#redrive-saga")),
		chromedp.Click(chromedp.CSS("#redrive-saga")),
		chromedp.WaitVisible(chromedp.CSS("#confirm-redrive")),
		chromedp.Click(chromedp.CSS("#confirm-redrive")),
	)
	waitText(t, ops, "#action-result", "CONFLICT", 30*time.Second)
	require.Contains(t, text(ops, "#action-result"), "nothing to re-drive")
	screenshot(t, ops, "order-redrive-refused")
	require.Empty(t, opsErrors(), "the pages run without errors (scripts, the Content Security Policy)")

	// At 390 px: nothing wider than the screen.
	phone := newTab(t, browser)
	signIn(t, phone, base, f.admin)
	do(t, phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	for _, p := range []struct{ name, path, ready string }{
		{"dead-letters-390", "/console/dead-letters?aggregate=" + url.QueryEscape(orderA.ID), "#dead-letters #total"},
		{"dead-letter-390", "/console/dead-letters/" + idOf(poisoned), "#dead-letter-status"},
	} {
		do(t, phone, chromedp.Navigate(base+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		width, err := chromedp.Run(phone, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		require.NoError(t, err)
		require.LessOrEqual(t, width, 390, "%s fits 390 px", p.path)
		screenshot(t, phone, p.name)
		requireReadable(t, phone, p.name)
	}

	// A customer's token reads none of it.
	other := newTab(t, browser)
	do(t, other, chromedp.Navigate(base+"/console/sign-in"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem("orderflow.console.token", `+jsString(f.token(t, f.customer.ID, auth.RoleCustomer))+`)`))
	do(t, other, chromedp.Navigate(base+"/console/dead-letters"), chromedp.WaitVisible(chromedp.CSS("#dead-letters")))
	waitText(t, other, "#dead-letters", "FORBIDDEN", 30*time.Second)
	require.Empty(t, text(other, "table.dead-letters"), "no entry is shown")
	do(t, other, chromedp.Navigate(base+"/console/dead-letters/"+idOf(deadA)), chromedp.WaitVisible(chromedp.CSS("#dead-letter")))
	waitText(t, other, "#dead-letter", "FORBIDDEN", 30*time.Second)
	require.NotContains(t, text(other, "main"), orderA.ID)
}

// idOf is an entry's id as the API and the console's URLs write it.
func idOf(e deadletter.Entry) string { return strconv.FormatInt(e.ID, 10) }
