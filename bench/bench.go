package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/pause"
)

// orderRecord is everything the bench knows about one order it sent.
type orderRecord struct {
	seq       int64
	scenario  Scenario
	key       string
	customer  *customerRef
	lines     []OrderItem
	total     money.Amount
	scheduled time.Time
	// measured orders were scheduled after the warmup; only they count in
	// latencies and rates.
	measured bool

	// Written by the goroutine that placed the order (and, for orders
	// whose outcome was unknown, by settle), read after both finished.
	id       string
	placeErr error
	refused  bool // the server refused the placement: there is no order

	// Written by the order's watcher.
	mu          sync.Mutex
	finalStatus string
	failureCode string
	finalAt     time.Time
}

func (o *orderRecord) placed() bool { return o.id != "" }

// unknown reports a placement without a definite answer.
func (o *orderRecord) unknown() bool { return o.id == "" && !o.refused }

func (o *orderRecord) final() (status, code string, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.finalStatus, o.failureCode, o.finalStatus != ""
}

// runner is one run in progress.
type runner struct {
	cfg     Config
	client  *Client
	subs    *Subscriber
	logger  *slog.Logger
	fx      *fixture
	runID   string
	pattern []Scenario
	price   money.Amount

	ordersMu sync.Mutex
	orders   []*orderRecord

	stats *stats
	// pollSlots bounds the poll requests in flight (see pollSlot).
	pollSlots chan struct{}

	// watchCtx ends the e2e watchers at the settle deadline.
	watchCtx context.Context
	watchWG  sync.WaitGroup
}

// Run sets up a catalog and accounts, sends the load, waits for the system
// to settle, checks the invariants and returns the results. progress
// receives a status line per second. An error means the run could not be
// carried out (e.g. the server is unreachable); invariant violations are
// in the result (Result.Passed), not an error.
func Run(ctx context.Context, cfg Config, progress io.Writer, logger *slog.Logger) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if progress == nil {
		progress = io.Discard
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = time.Second
	}
	client := NewClient(cfg.URL, cfg.RequestTimeout)
	defer client.Close()

	r := &runner{
		cfg:     cfg,
		client:  client,
		logger:  logger,
		runID:   newRunID(),
		pattern: cfg.Mix.Pattern(),
		stats:   newStats(),

		pollSlots: make(chan struct{}, cfg.PollConcurrency),
	}
	r.price, _ = money.Parse(cfg.Price)
	res := &Result{Schema: ResultSchema, Label: cfg.Label, StartedAt: time.Now().UTC(), URL: cfg.URL, RunID: r.runID, Config: resultConfig(cfg)}

	setupStart := time.Now()
	fmt.Fprintf(progress, "bench %s: creating %d products and %d customers at %s\n", r.runID, cfg.Products+1, cfg.Customers+cfg.PoorCustomers, cfg.URL)
	fx, err := setup(ctx, cfg, client, r.runID)
	if err != nil {
		return nil, fmt.Errorf("set up catalog and customers: %w", err)
	}
	r.fx = fx
	res.SetupSeconds = time.Since(setupStart).Seconds()
	fmt.Fprintf(progress, "bench %s: set-up done in %.1fs; load %s for %s (warmup %s), mix %s, e2e %s\n",
		r.runID, res.SetupSeconds, cfg.Model(), cfg.Duration, cfg.Warmup, cfg.Mix, cfg.E2E)

	if cfg.E2E == E2ESubscription {
		r.subs = NewSubscriber(cfg.URL, fx.adminToken, cfg.WSConnections)
		defer r.subs.Close()
	}

	watchCtx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	r.watchCtx = watchCtx

	stopProgress := r.startProgress(progress)

	// Load.
	start := time.Now().Add(50 * time.Millisecond)
	r.stats.setPhase("load", start)
	total := cfg.Warmup + cfg.Duration
	if cfg.Rate > 0 {
		runOpen(ctx, start, cfg.Rate, total, cfg.MaxInFlight, r.fire, r.drop)
	} else {
		runClosed(ctx, start, cfg.Concurrency, total, r.fire)
	}
	loadEnd := time.Now()
	res.LoadSeconds = loadEnd.Sub(start).Seconds()

	// Settle: learn the outcome of unanswered placements, wait for every
	// order to end and every reservation and hold to be released.
	deadline := loadEnd.Add(cfg.SettleTimeout)
	r.stats.setPhase("settle", loadEnd)
	settleTimer := time.AfterFunc(cfg.SettleTimeout, stopWatching)
	defer settleTimer.Stop()
	r.resolveUnknown(watchCtx)
	r.watchWG.Wait()
	r.recordCommitted(watchCtx)
	settled := r.waitReleased(watchCtx)
	res.SettleSeconds = time.Since(loadEnd).Seconds()

	r.stats.setPhase("check", time.Now())
	checkCtx, cancelCheck := context.WithTimeout(ctx, max(cfg.SettleTimeout, time.Minute))
	defer cancelCheck()
	res.Invariants = r.checkInvariants(checkCtx, deadline)
	stopProgress()
	if !settled {
		logger.Warn("system did not settle before the settle timeout", "settle_timeout", cfg.SettleTimeout)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("bench interrupted: %w", ctx.Err())
	}

	r.fillResult(res)
	return res, nil
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// drop records an open-model arrival the bench could not send.
func (r *runner) drop(seq int64, scheduled time.Time) {
	r.stats.dropped.Add(1)
	r.stats.countError("placeOrder", CodeOverload)
}

// fire places order seq, cancels it if its scenario says so, and starts
// its e2e watcher.
func (r *runner) fire(seq int64, scheduled time.Time) {
	sc := r.pattern[seq%int64(len(r.pattern))]
	cust, lines, total := r.fx.order(r.cfg.Seed, seq, sc, r.price)
	rec := &orderRecord{
		seq: seq, scenario: sc, key: fmt.Sprintf("bench-%s-%d", r.runID, seq),
		customer: cust, lines: lines, total: total, scheduled: scheduled,
		measured: !scheduled.Before(r.stats.loadStart().Add(r.cfg.Warmup)),
	}
	r.ordersMu.Lock()
	r.orders = append(r.orders, rec)
	r.ordersMu.Unlock()

	r.stats.sent.Add(1)
	if rec.measured {
		r.stats.measuredSent.Add(1)
	}
	o, err := r.client.PlaceOrder(r.watchCtx, cust.Token, rec.key, lines)
	latency := time.Since(scheduled)
	r.stats.answered.Add(1)
	if err != nil {
		rec.placeErr = err
		rec.refused = definite(err)
		r.stats.countError("placeOrder", errorCode(err))
		return
	}
	rec.id = o.ID
	r.stats.placed.Add(1)
	if rec.measured {
		r.stats.measuredPlaced.Add(1)
		r.stats.placement.Record(latency)
		markLast(&r.stats.lastPlaced, scheduled.Add(latency))
	}
	r.watch(rec)

	if sc == Cancel {
		sent := time.Now()
		_, err := r.client.CancelOrder(r.watchCtx, cust.Token, o.ID)
		if rec.measured {
			r.stats.cancel.Record(time.Since(sent))
		}
		if err != nil {
			r.stats.countError("cancelOrder", errorCode(err))
		}
	}
}

// watch follows a placed order until it is final, then reads when the
// final event was recorded.
func (r *runner) watch(rec *orderRecord) {
	r.watchWG.Add(1)
	go func() {
		defer r.watchWG.Done()
		if r.subs == nil || !r.watchSubscription(rec) {
			r.watchPoll(rec)
		}
	}()
}

// watchSubscription follows the order over orderStatusChanged. It returns
// false when the subscription failed before the order was final; the
// caller then polls.
func (r *runner) watchSubscription(rec *orderRecord) bool {
	ctx := r.watchCtx
	sub, err := r.subs.SubscribeOrder(ctx, rec.id)
	if err != nil {
		if ctx.Err() != nil {
			return true
		}
		r.stats.subscriptionFallbacks.Add(1)
		r.stats.countError("orderStatusChanged", errorCode(err))
		return false
	}
	defer sub.Close()
	for {
		o, err := sub.NextOrder(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return true
			}
			r.stats.subscriptionFallbacks.Add(1)
			r.stats.countError("orderStatusChanged", errorCode(err))
			return false
		}
		if Final(o.Status) {
			r.setFinal(rec, o, time.Now())
			return true
		}
	}
}

// maxPollDelay bounds the interval between two polls of one order.
const maxPollDelay = time.Second

// pollDelay is the wait before the next poll of an order of the given age:
// a tenth of its age, at least minDelay and at most maxPollDelay. A young
// order is polled often; an old one, whose e2e latency is large anyway,
// less, so the polls do not become the load, while the e2e latency seen
// stays within about 10% (or minDelay) of the true one.
func pollDelay(age, minDelay time.Duration) time.Duration {
	return min(max(age/10, minDelay), max(maxPollDelay, minDelay))
}

// pollSlot waits for one of the Config.PollConcurrency slots every poll
// takes, so that however many orders are open, the bench never has more
// poll requests outstanding: a slow server sees fewer polls, not more.
func (r *runner) pollSlot(ctx context.Context) (release func(), ok bool) {
	select {
	case r.pollSlots <- struct{}{}:
		return func() { <-r.pollSlots }, true
	case <-ctx.Done():
		return nil, false
	}
}

// watchPoll polls the order query until the order is final.
func (r *runner) watchPoll(rec *orderRecord) {
	ctx := r.watchCtx
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(pollDelay(time.Since(rec.scheduled), r.cfg.PollInterval))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		release, ok := r.pollSlot(ctx)
		if !ok {
			return
		}
		o, err := r.client.OrderStatus(ctx, rec.customer.Token, rec.id)
		release()
		r.stats.polls.Add(1)
		if err != nil {
			if ctx.Err() == nil {
				r.stats.countError("order", errorCode(err))
			}
			continue
		}
		if Final(o.Status) {
			r.setFinal(rec, o, time.Now())
			return
		}
	}
}

// recordCommitted reads the events of every measured order that ended and
// records the e2e latency up to the commit of its final event, on the
// server's clock. Unlike the latency seen, it does not depend on how often
// the bench polls, at the price of trusting the two clocks to agree (they
// do when bench and server share a machine). The reads come after the
// load, PollConcurrency at a time: the times are recorded on the server,
// so reading them later changes nothing in them, and the reads (a GraphQL
// query and two stream reads per order) are not part of the load measured.
func (r *runner) recordCommitted(ctx context.Context) {
	var wg sync.WaitGroup
	for _, rec := range r.snapshot() {
		if _, _, ok := rec.final(); !ok || !rec.measured {
			continue
		}
		release, ok := r.pollSlot(ctx)
		if !ok {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer release()
			events, err := r.client.OrderEvents(ctx, rec.customer.Token, rec.id)
			if err != nil {
				if ctx.Err() == nil {
					r.stats.countError("orderEvents", errorCode(err))
				}
				return
			}
			if at, ok := finalEventTime(events); ok {
				r.stats.e2eCommitted.Record(at.Sub(rec.scheduled))
			}
		}()
	}
	wg.Wait()
}

// finalEventTime is when the order's final event was recorded.
func finalEventTime(events []OrderEvent) (time.Time, bool) {
	for i := len(events) - 1; i >= 0; i-- {
		if _, ok := terminalStatus[events[i].Type]; ok {
			return events[i].OccurredAt, true
		}
	}
	return time.Time{}, false
}

func (r *runner) setFinal(rec *orderRecord, o Order, at time.Time) {
	rec.mu.Lock()
	if rec.finalStatus != "" {
		rec.mu.Unlock()
		return
	}
	rec.finalStatus, rec.failureCode, rec.finalAt = o.Status, o.FailureCode(), at
	rec.mu.Unlock()
	r.stats.final.Add(1)
	if rec.measured {
		r.stats.measuredFinal.Add(1)
		r.stats.recordE2E(rec.scenario, at.Sub(rec.scheduled))
		markLast(&r.stats.lastFinal, at)
	}
}

// snapshot returns the orders sent so far.
func (r *runner) snapshot() []*orderRecord {
	r.ordersMu.Lock()
	defer r.ordersMu.Unlock()
	return append([]*orderRecord(nil), r.orders...)
}

// resolveUnknown sends every placement that got no definite answer again
// with its idempotency key: the answer is the order the first attempt
// placed, or a new one if it never arrived. Either way the bench then
// knows the order and follows it.
func (r *runner) resolveUnknown(ctx context.Context) {
	var unknown []*orderRecord
	for _, o := range r.snapshot() {
		if o.unknown() {
			unknown = append(unknown, o)
		}
	}
	if len(unknown) == 0 {
		return
	}
	r.logger.Info("resending placements without a definite answer", "orders", len(unknown), "for", r.cfg.ResendFor)
	until := time.Now().Add(r.cfg.ResendFor)
	_ = parallel(ctx, r.cfg.CheckConcurrency, len(unknown), func(i int) error {
		rec := unknown[i]
		for attempt := 0; ctx.Err() == nil; attempt++ {
			if attempt > 0 {
				if time.Now().After(until) {
					return nil
				}
				pause.For(ctx, resendDelay(attempt))
			}
			o, err := r.client.PlaceOrder(ctx, rec.customer.Token, rec.key, rec.lines)
			if err == nil {
				rec.id = o.ID
				r.stats.resolved.Add(1)
				r.watch(rec)
				return nil
			}
			rec.placeErr = err
			if definite(err) {
				rec.refused = true
				return nil
			}
		}
		return nil
	})
}

// maxResendDelay caps the wait between two re-sends of one placement.
const maxResendDelay = 5 * time.Second

// resendDelay is the wait before re-send attempt (1, 2, ...): a second
// more per attempt, capped.
func resendDelay(attempt int) time.Duration {
	return min(time.Duration(attempt)*time.Second, maxResendDelay)
}

// waitReleased waits until no product of the run has stock reserved and
// no customer has money held, or ctx ends; it reports whether that
// happened.
func (r *runner) waitReleased(ctx context.Context) bool {
	for {
		busy := atomic.Int64{}
		products, customers := r.fx.allProducts(), r.fx.allCustomers()
		_ = parallel(ctx, r.cfg.CheckConcurrency, len(products)+len(customers), func(i int) error {
			if i < len(products) {
				p, err := r.client.Product(ctx, r.fx.adminToken, products[i].ID)
				if err != nil || p.Reserved != 0 {
					busy.Add(1)
				}
				return nil
			}
			c, err := r.client.Customer(ctx, r.fx.adminToken, customers[i-len(products)].ID)
			if held, perr := money.Parse(c.Held); err != nil || perr != nil || held != 0 {
				busy.Add(1)
			}
			return nil
		})
		if ctx.Err() != nil {
			return false
		}
		if busy.Load() == 0 {
			return true
		}
		r.stats.busyAccounts.Store(busy.Load())
		pause.For(ctx, 500*time.Millisecond)
	}
}
