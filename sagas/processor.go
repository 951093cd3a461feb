package sagas

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
)

// HandlerName prefixes the saga's consumer groups (one per event topic,
// e.g. "sagas.order.inventory", see Subscriptions): never rename it, a new
// name replays every event.
const HandlerName = "sagas.order"

// CommandSender is the command bus as the saga sees it.
type CommandSender interface {
	Send(ctx context.Context, cmd messages.Command, env bus.Envelope) (string, error)
}

// Config is the processor's configuration.
type Config struct {
	Policy Policy
	// DeadlineInterval is how often due deadlines are looked for.
	DeadlineInterval time.Duration
	// DeadlineBatch bounds the sagas handled per look.
	DeadlineBatch int
}

// DefaultConfig is what the worker runs with.
func DefaultConfig() Config {
	return Config{Policy: DefaultPolicy(), DeadlineInterval: time.Second, DeadlineBatch: 100}
}

// LocalCommands executes commands on the orders in the saga's transaction
// (handlers.Handlers does). ok is false for a command of another context.
type LocalCommands interface {
	ExecuteOrderCommandInTx(ctx context.Context, tx pgx.Tx, id, correlationID string, cmd messages.Command) (res handlers.Result, ok bool, err error)
	// QueueOrderReadsInTx queues into b the reads of the orders' streams
	// that commands in tx will run on, for a transaction on several
	// orders; apply once b ran.
	QueueOrderReadsInTx(tx *handlers.Tx, b *pgx.Batch, orderIDs []string) (apply func() error)
}

// maxLocalRounds bounds how often the events of local commands may lead to
// further local commands within one transaction; the saga needs at most
// three (mark the step, confirm, settle), more means a bug.
const maxLocalRounds = 8

// Processor runs order sagas: it applies events from the three event
// topics and fires deadlines, persisting state in PostgreSQL.
//
// The saga lives in the ordering context: its state is in the ordering
// database, next to the orders' event store. Commands on the order (record
// a step, confirm, cancel, fail) are therefore executed in the saga's own
// transaction, and the events they append are applied to the saga there
// and then: the order records "inventory reserved" in the transaction that
// handles StockReserved and sends AuthorizePayment, instead of a round trip
// through Kafka per step. Only the other contexts' commands (inventory,
// payments) travel over the bus, after the commit. The events appended
// here still reach Kafka through the outbox, like any other; the saga finds
// them processed already. The saga starts in the transaction that places
// the order (StartInTx, in the API process); an OrderPlaced without a saga
// (placed by a message on the bus) starts it when it arrives.
type Processor struct {
	cfg    Config
	store  store
	sender CommandSender
	local  LocalCommands
	// sending bounds the commands being sent after their commit; a full
	// semaphore makes the handlers wait (backpressure). inflight lets
	// RunDeadlines finish them before the process stops; once it drains
	// (draining set, under drainMu), the few events still being handled
	// send in the foreground.
	sending  chan struct{}
	inflight sync.WaitGroup
	drainMu  sync.Mutex
	draining bool
	metrics  *metrics
	logger   *slog.Logger
	now      func() time.Time
	jitter   func() float64
}

// NewProcessor returns a processor keeping state in pool, which must be the
// ordering database local writes to, executing the orders' commands with
// local and sending the other commands with sender.
func NewProcessor(cfg Config, pool *pgxpool.Pool, local LocalCommands, sender CommandSender, reg prometheus.Registerer, logger *slog.Logger) *Processor {
	p := &Processor{
		cfg: cfg, store: store{pool: pool}, local: local, sender: sender, metrics: newMetrics(reg), logger: logger,
		sending: make(chan struct{}, maxSendsInFlight),
		now:     time.Now, jitter: rand.Float64,
	}
	return p
}

// Get returns the saga of an order (nil if it has none).
func (p *Processor) Get(ctx context.Context, orderID string) (*State, error) {
	return p.store.get(ctx, orderID)
}

// Subscription is one of the saga's consumers: a consumer group reading
// one event topic.
type Subscription struct {
	// Name is the handler's name and the consumer group's base name
	// (HandlerName.<context>).
	Name string
	// Topic is the event topic's base name.
	Topic string
}

// Subscriptions are the saga's consumers, one per event topic; run each
// with HandleBatch.
func Subscriptions() []Subscription {
	var subs []Subscription
	for _, ctx := range []string{"ordering", "inventory", "payments"} {
		subs = append(subs, Subscription{Name: HandlerName + "." + ctx, Topic: messages.EventsTopic(ctx)})
	}
	return subs
}

// busyConcurrency bounds the orders of a batch, busy in another
// transaction when the batch was handled, that are then handled at once,
// each in a transaction of its own.
const busyConcurrency = 8

// HandleBatch handles a batch of events (of one or, with the consumer
// loop's Combine, several partitions) in one transaction: every order's
// saga lock is tried, the sagas and their orders' streams are read in
// one round trip, each order's events are applied in offset order (the
// saga needs no order among events of different orders), and the states
// are saved with the COMMIT; what the sagas decided is sent after it. An
// order whose lock another transaction holds (a deadline, a redrive,
// another worker) does not hold the others: it is handled after them, in
// a transaction of its own that waits for the lock. An event the saga
// applied before changes nothing (its id is in the saga's row), so a
// batch handled again (after a crash between the commit and the offset
// commit, or a split) is harmless.
func (p *Processor) HandleBatch(ctx context.Context, batch []consumer.Message) (err error) {
	var spans []trace.Span
	defer func() {
		for _, span := range spans {
			tracing.End(span, err)
		}
	}()
	var pending sagaEvents
	for _, msg := range batch {
		// A message that does not decode can never be handled: a
		// permanent error, dead-lettered by the consumer loop (with its
		// order's later events parked behind it).
		env, err := messages.ParseEnvelope(msg.Metadata)
		if err != nil {
			return deadletter.Permanentf("event %s has no valid envelope: %w", msg.UUID, err)
		}
		// Most events of the order stream were applied when they were
		// appended (by the saga's own commands, or OrderPlaced with the
		// placement that started the saga): the envelope tells, before
		// the payload is decoded.
		if orderStream(env) && (startedWhenPlaced(env) || appliedWhenAppended(env, env.StreamID)) {
			continue
		}
		e, err := messages.DecodeEvent(env.EventType, msg.Payload)
		if err != nil {
			return deadletter.Permanentf("event %s of type %s does not decode: %w", env.EventID, env.EventType, err)
		}
		orderID := messages.OrderOf(e)
		if orderID == "" {
			continue
		}
		// In the trace of the event (tracing on): the saga's commands,
		// sent and executed here, follow it.
		ectx, span := tracing.Start(ctx, msg.Metadata, "saga "+env.EventType, trace.SpanKindConsumer,
			attribute.String("orderflow.order_id", orderID))
		spans = append(spans, span)
		pending.add(orderID, sagaEvent{ctx: ectx, id: env.EventID, event: e})
	}
	return p.handleEvents(ctx, pending)
}

// HandleEvent applies one event to its order's saga, once, as HandleBatch
// does for a batch.
func (p *Processor) HandleEvent(ctx context.Context, eventID string, e messages.Event) error {
	orderID := messages.OrderOf(e)
	if orderID == "" {
		return nil
	}
	var pending sagaEvents
	pending.add(orderID, sagaEvent{ctx: ctx, id: eventID, event: e})
	return p.handleEvents(ctx, pending)
}

// sagaEvent is an event for its order's saga, with the context it is
// handled in (its trace).
type sagaEvent struct {
	ctx   context.Context
	id    string
	event messages.Event
}

// sagaEvents are a batch's events by order, each order's in offset order.
type sagaEvents struct {
	orders []string
	events map[string][]sagaEvent
}

func (s *sagaEvents) add(orderID string, e sagaEvent) {
	if s.events == nil {
		s.events = map[string][]sagaEvent{}
	}
	if _, ok := s.events[orderID]; !ok {
		s.orders = append(s.orders, orderID)
	}
	s.events[orderID] = append(s.events[orderID], e)
}

// decided is a decision to carry out once its transaction committed.
type decided struct {
	ctx context.Context
	// st is the saga as the decision left it (a copy: the same saga's
	// later events in the batch go on changing the original).
	st State
	d  Decision
}

// handleEvents handles pending: the orders whose lock is free in one
// transaction, then the busy ones each in its own, waiting for the lock.
func (p *Processor) handleEvents(ctx context.Context, pending sagaEvents) error {
	if len(pending.orders) == 0 {
		return nil
	}
	busy, err := p.handleOrders(ctx, pending, pending.orders, false)
	if err != nil {
		return err
	}
	return consumer.Grouped(ctx, busy, func(id string) string { return id }, busyConcurrency, func(ctx context.Context, ids []string) error {
		_, err := p.handleOrders(ctx, pending, ids, true)
		return err
	})
}

// mayCommandOrder reports whether the saga may run commands on the order
// when it handles e: all but OrderPlaced (which starts a saga whose first
// commands go to inventory, or was applied when the saga started) and the
// settlement's acknowledgements, which only finish it: three of the five
// events a normal order sends the saga.
func mayCommandOrder(e messages.Event) bool {
	switch e.(type) {
	case messages.OrderPlaced, messages.StockCommitted, messages.PaymentCaptured:
		return false
	}
	return true
}

// handleOrders applies the pending events of orderIDs in one transaction
// and sends what was decided once it committed. With wait unset it skips
// (and returns) the orders whose lock another transaction holds; with
// wait set it waits for their locks, so pass one order at a time then
// (two transactions waiting for each other's locks would deadlock).
func (p *Processor) handleOrders(ctx context.Context, pending sagaEvents, orderIDs []string, wait bool) (busy []string, err error) {
	var out []decided
	err = p.inTx(ctx, func(tx *handlers.Tx) error {
		locked, sagas, err := p.store.lockAndLoadMany(ctx, tx, orderIDs, wait, func(b *pgx.Batch) func() error {
			// The streams of the orders that may get commands are read
			// before the transaction's first write (see
			// handlers.Executor.QueueReadsInTx). If another order gets one
			// after all, the executor refuses it and the batch is handled
			// again in smaller ones, down to one order, whose stream is
			// then read with its first command.
			var reads []string
			for _, id := range orderIDs {
				if slices.ContainsFunc(pending.events[id], func(e sagaEvent) bool { return mayCommandOrder(e.event) }) {
					reads = append(reads, id)
				}
			}
			return p.local.QueueOrderReadsInTx(tx, b, reads)
		})
		if err != nil {
			return err
		}
		for _, orderID := range orderIDs {
			if !locked[orderID] {
				busy = append(busy, orderID)
				continue
			}
			loaded := sagas[orderID]
			st := loaded.state
			var applied []string
			for _, ev := range pending.events[orderID] {
				if loaded.applied[ev.id] {
					continue
				}
				var d Decision
				switch {
				case st == nil:
					placed, ok := ev.event.(messages.OrderPlaced)
					if !ok {
						continue // an answer for an order without a saga: not ours
					}
					st, d = Start(placed, p.now(), p.cfg.Policy, p.jitter)
				default:
					d = st.Handle(ev.event, p.now(), p.cfg.Policy, p.jitter)
				}
				d, local, err := p.carryOut(ev.ctx, tx, st, d)
				if err != nil {
					return err
				}
				for _, id := range append(local, ev.id) {
					loaded.markApplied(id)
					applied = append(applied, id)
				}
				out = append(out, decided{ctx: ev.ctx, st: *st, d: d})
			}
			if st != nil && len(applied) > 0 {
				if err := p.store.save(ctx, tx, st, applied); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, o := range out {
		p.send(o.ctx, &o.st, o.d)
	}
	return busy, nil
}

// localCommandKeys are the keys (see CommandID) of the saga's commands on
// the order itself, which always run in the saga's transaction (runLocal).
var localCommandKeys = []string{
	"step:" + string(messages.StepInventoryReserved), "step:" + string(messages.StepPaymentAuthorized),
	"confirm", "cancel", "cancel:timeout", "fail", "fail:compensation", "compensated:payment", "compensated:inventory",
}

// orderStream reports whether env is an event of an order's own stream
// (ordering context), whose stream id is the order id.
func orderStream(env messages.Envelope) bool {
	return env.StreamID != "" && strings.HasPrefix(env.EventType, "ordering.")
}

// appliedWhenAppended reports whether an event of the order stream was
// caused by one of the saga's own commands under its usual id: such an
// event was appended by runLocal in the saga's transaction and applied
// there, so it is known to be processed without asking the database (three
// of a normal order's four order events; startedWhenPlaced knows the
// fourth). A key missing from localCommandKeys, or a Resend's fresh id,
// only costs the look-up.
func appliedWhenAppended(env messages.Envelope, orderID string) bool {
	if orderID == "" || env.CausationID == "" || !strings.HasPrefix(env.EventType, "ordering.") {
		return false
	}
	for _, k := range localCommandKeys {
		if env.CausationID == CommandID(orderID, k) {
			return true
		}
	}
	return false
}

// startedWhenPlaced reports whether env is an OrderPlaced that started its
// saga when it was appended: every placement is the message whose id is
// the order id and starts the saga in its transaction (StartInTx; see
// handlers.Handlers.PlaceOrder). Without this the saga's ordering consumer
// looked every order up once more, and took the saga's lock while the
// inventory consumer handled the order's first reservation at about the
// same moment, so that one of the two waited (docs/benchmarks.md,
// "2026-12-01, evening"). Any other OrderPlaced (of an older version,
// placed over the bus) still goes to the saga, which starts if it has not.
func startedWhenPlaced(env messages.Envelope) bool {
	return env.EventType == orderPlacedType && env.CausationID != "" && env.CausationID == env.StreamID
}

var orderPlacedType = messages.OrderPlaced{}.EventType()

// StartInTx starts the saga of an order in the transaction that places it,
// given what the placement appended (a placement that appended no
// OrderPlaced starts nothing): the saga's state and deadline commit with
// the order, and OrderPlaced is recorded as processed, so when it arrives
// from Kafka later it changes nothing. It takes no saga lock: until this
// transaction commits, nothing else can see the order, and every other
// event of the saga follows OrderPlaced. The returned func sends the first
// commands (ReserveStock) in the background, as for every later step; call
// it once the transaction committed. If it never runs (the process died
// first), the saga's deadline sends them, with the same message ids.
func (p *Processor) StartInTx(ctx context.Context, tx pgx.Tx, placement handlers.Result) (func(), error) {
	for i, e := range placement.Events {
		placed, ok := e.(messages.OrderPlaced)
		if !ok {
			continue
		}
		st, d := Start(placed, p.now(), p.cfg.Policy, p.jitter)
		d, err := p.decideInTx(ctx, tx, st, d, placement.Records[i].EventID.String())
		if err != nil {
			return nil, err
		}
		return func() { p.send(ctx, st, d) }, nil
	}
	return nil, nil
}

// decideInTx carries out a decision in the saga's transaction (carryOut)
// and saves the state with the ids of the events that moved it. The
// returned decision holds the commands left to send after the commit.
func (p *Processor) decideInTx(ctx context.Context, tx pgx.Tx, st *State, d Decision, eventIDs ...string) (Decision, error) {
	d, applied, err := p.carryOut(ctx, tx, st, d)
	if err != nil {
		return d, err
	}
	return d, p.store.save(ctx, tx, st, append(applied, eventIDs...))
}

// carryOut carries out the part of a decision that belongs in the saga's
// transaction: the orders' commands run in tx (see runLocal) and a
// finished saga's commands are sent. It returns the decision with the
// commands left to send after the commit, and the ids of the events the
// orders' commands appended, applied to st.
func (p *Processor) carryOut(ctx context.Context, tx pgx.Tx, st *State, d Decision) (Decision, []string, error) {
	d, applied, err := p.runLocal(ctx, tx, st, d)
	if err != nil {
		return d, nil, err
	}
	return d, applied, p.sendIfFinished(ctx, st, &d)
}

// runLocal executes the decision's commands on the order in tx, applies
// the events they append to the saga and repeats with whatever that
// decided. It returns the decision with the commands left for the bus and
// every compensation and finish along the way, and the ids of the events
// it applied, to be recorded as processed.
func (p *Processor) runLocal(ctx context.Context, tx pgx.Tx, st *State, d Decision) (Decision, []string, error) {
	out := Decision{Compensated: d.Compensated, Finished: d.Finished, Counted: d.Counted}
	var applied []string
	pending := d.Commands
	for round := 0; len(pending) > 0; round++ {
		if round == maxLocalRounds {
			return out, nil, fmt.Errorf("saga %s: still deciding local commands after %d rounds", st.OrderID, round)
		}
		var next []Command
		for _, c := range pending {
			res, ok, err := p.local.ExecuteOrderCommandInTx(ctx, tx, c.ID, st.OrderID, c.Message)
			if err != nil {
				return out, nil, fmt.Errorf("saga %s: %s: %w", st.OrderID, c.Message.CommandName(), err)
			}
			if !ok {
				out.Commands = append(out.Commands, c)
				continue
			}
			if res.Refusal != nil {
				// As over the bus: the refusal is recorded, the saga waits
				// for the event that explains it or for its deadline.
				p.logger.InfoContext(ctx, "order refused the saga's command", "order_id", st.OrderID, "command", c.Message.CommandName(), "error", res.Refusal)
			}
			for i, ev := range res.Events {
				applied = append(applied, res.Records[i].EventID.String())
				dd := st.Handle(ev, p.now(), p.cfg.Policy, p.jitter)
				next = append(next, dd.Commands...)
				out.Compensated = append(out.Compensated, dd.Compensated...)
				// A saga that parks and finishes in one decision (its order's
				// end arrived with the park) was never counted as parked.
				out.Counted = out.Counted || (dd.Counted && !out.Finished)
				out.Finished = out.Finished || dd.Finished
			}
		}
		pending = next
	}
	return out, applied, nil
}

// sendIfFinished sends the commands of a saga that finished with commands
// left (a finished saga undoing a late reply, a parked one failing its
// order): no deadline will send them again, so they go before the commit,
// and a failure rolls back so the event is redelivered.
func (p *Processor) sendIfFinished(ctx context.Context, st *State, d *Decision) error {
	if st.Active() || len(d.Commands) == 0 {
		return nil
	}
	if err := p.sendAll(ctx, st, *d); err != nil {
		return err
	}
	d.Commands = nil
	return nil
}

// sendAll sends a decision's commands all at once, so they share the
// producer's batch (one linger, not one per command); none depends on the
// order in which the others are sent (see send).
func (p *Processor) sendAll(ctx context.Context, st *State, d Decision) error {
	errs := make([]error, len(d.Commands))
	var wg sync.WaitGroup
	for i, c := range d.Commands {
		wg.Go(func() {
			_, errs[i] = p.sender.Send(ctx, c.Message, bus.Envelope{MessageID: c.ID, CorrelationID: st.OrderID})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("saga %s: %w", st.OrderID, err)
	}
	return nil
}

// maxSendsInFlight bounds the decisions whose commands are being sent.
const maxSendsInFlight = 256

// sendTimeout bounds sending one decision's commands.
const sendTimeout = 30 * time.Second

// send carries out a committed decision, in the background: the event's
// partition moves on to its next event while Kafka acknowledges. The state
// is committed first, so an answer to these commands always finds the saga
// waiting for it (sent before the commit, a quick answer could arrive
// while a failed commit left the saga a step behind, and be dropped as
// stale). A command that cannot be sent is not lost: the saga's deadline
// sends the phase's commands again, with the same ids. Commands of one
// order never depend on the order in which they are sent: the saga sends
// the next ones only after the answers to the previous ones.
func (p *Processor) send(ctx context.Context, st *State, d Decision) {
	if len(d.Commands) > 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		do := func() {
			defer cancel()
			if err := p.sendAll(ctx, st, d); err != nil {
				p.logger.Warn("saga command not sent, the deadline will send it again", "order_id", st.OrderID, "deadline", st.Deadline, "error", err)
				p.markUnsent(ctx, st)
			}
		}
		p.sending <- struct{}{}
		p.drainMu.Lock()
		background := !p.draining
		if background {
			p.inflight.Add(1)
		}
		p.drainMu.Unlock()
		if background {
			go func() {
				defer func() {
					<-p.sending
					p.inflight.Done()
				}()
				do()
			}()
		} else {
			do()
			<-p.sending
		}
	}
	p.observe(st, d)
	if d.Finished && !d.Counted {
		p.logger.Info("saga finished", "order_id", st.OrderID, "outcome", st.Outcome, "duration", st.EndedAt.Sub(st.StartedAt))
	}
}

// markUnsentTimeout bounds recording an unsent attempt.
const markUnsentTimeout = 5 * time.Second

// markUnsent records that the attempt st sent did not reach Kafka, so its
// deadline does not count it (see State.OnDeadline). If PostgreSQL cannot
// record it either, the attempt counts, as before: the saga is not worse
// off than without the mark.
func (p *Processor) markUnsent(ctx context.Context, st *State) {
	if !st.Active() || st.Deadline.IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markUnsentTimeout)
	defer cancel()
	marked, err := p.store.markUnsent(ctx, st)
	switch {
	case err != nil:
		p.logger.Warn("unsent saga attempt not recorded, it counts against the attempts", "order_id", st.OrderID, "error", err)
	case marked:
		p.metrics.unsent.WithLabelValues(SagaType, string(st.Phase)).Inc()
	}
}

// RunDeadlines fires due deadlines until ctx ends, then waits for the
// commands still being sent.
func (p *Processor) RunDeadlines(ctx context.Context) error {
	t := time.NewTicker(p.cfg.DeadlineInterval)
	defer t.Stop()
	defer p.Drain()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for {
			n, err := p.FireDeadlines(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				p.logger.Error("saga deadlines failed", "error", err)
				break
			}
			if n < p.cfg.DeadlineBatch {
				break
			}
		}
	}
}

// Drain waits for the commands being sent in the background; later ones
// are sent in the foreground. A process that starts sagas without running
// their deadlines (the API) calls it when it stops.
func (p *Processor) Drain() {
	p.drainMu.Lock()
	p.draining = true
	p.drainMu.Unlock()
	p.inflight.Wait()
}

// FireDeadlines handles one batch of due sagas and returns how many were
// due. Each saga is handled in a transaction of its own; one another worker
// holds is skipped (it is busy with it).
func (p *Processor) FireDeadlines(ctx context.Context) (int, error) {
	due, err := p.store.due(ctx, p.now(), p.cfg.DeadlineBatch)
	if err != nil {
		return 0, err
	}
	for _, orderID := range due {
		var st *State
		var d Decision
		err := p.inTx(ctx, func(tx *handlers.Tx) error {
			loaded, locked, err := p.store.lockAndLoad(ctx, tx, orderID, false)
			if err != nil || !locked {
				return err
			}
			st = loaded
			if st == nil || st.Deadline.IsZero() || st.Deadline.After(p.now()) {
				st = nil
				return nil // handled meanwhile
			}
			p.metrics.timeouts.WithLabelValues(SagaType, string(st.Phase)).Inc()
			p.logger.Warn("saga deadline passed", "order_id", st.OrderID, "phase", st.Phase, "attempt", st.Attempts+1)
			d, err = p.decideInTx(ctx, tx, st, st.OnDeadline(p.now(), p.cfg.Policy, p.jitter))
			return err
		})
		if err != nil {
			return 0, err
		}
		if st != nil {
			p.send(ctx, st, d)
		}
	}
	return len(due), nil
}

func (p *Processor) inTx(ctx context.Context, fn func(*handlers.Tx) error) error {
	// BEGIN goes with the first batch (the locks and loads). The
	// orders' commands run on the executor's cached orders in a
	// handlers.Tx, which hands them back only once it committed.
	tx := handlers.WrapTx(postgres.Begin(p.store.pool))
	defer func() { _ = tx.Rollback(context.Background()) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("commit saga transaction: %w", err)
	}
	return nil
}
