package handlers

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
)

// The consumer group names of the contexts' command topics: never rename
// them, a new name starts from the oldest command still in the topic.
const (
	InventoryCommandsHandler = "inventory.commands"
	PaymentsCommandsHandler  = "payments.commands"
)

// Received is a command that arrived over the command bus.
type Received struct {
	// ID is the message id: with the command's handler name, its inbox key.
	ID string
	// CorrelationID ties the command's events to their flow (the order).
	CorrelationID string
	Command       messages.Command
	// Trace is the trace context the command was sent in (its headers);
	// nil when tracing is off.
	Trace map[string]string
}

// BusHandler executes the commands one context receives over the bus, a
// batch at a time. Only the commands that cross contexts travel there: the
// order saga's to inventory and payments. The API's commands run in the
// API process and the orders' commands in the saga's transaction.
type BusHandler struct {
	// Name is the handler's consumer group (InventoryCommandsHandler...).
	Name string
	// Context is the bounded context whose command topic it reads.
	Context string
	// Accepts reports whether cmd is a command this handler executes.
	Accepts func(cmd messages.Command) bool
	// Handle executes a batch of accepted commands, in order. nil means
	// every command's outcome is durable (a refusal by the domain is an
	// outcome, recorded in the inbox); an error means the batch must be
	// handled again, and redelivered commands change nothing.
	Handle func(ctx context.Context, batch []Received) error
}

// BusHandlers returns the handlers of the command topics: inventory and
// payments.
func (h *Handlers) BusHandlers() []BusHandler {
	return []BusHandler{
		{
			Name: InventoryCommandsHandler, Context: "inventory",
			Accepts: func(cmd messages.Command) bool { _, _, d := inventoryDecision(cmd); return d != nil },
			Handle: func(ctx context.Context, batch []Received) error {
				return executeBatch(ctx, h, h.Products, batch, inventoryDecision)
			},
		},
		{
			Name: PaymentsCommandsHandler, Context: "payments",
			Accepts: func(cmd messages.Command) bool {
				_, auth := cmd.(messages.AuthorizePayment)
				_, _, d := paymentsDecision(cmd)
				return auth || d != nil
			},
			Handle: h.handlePayments,
		},
	}
}

func inventoryDecision(cmd messages.Command) (handler, productID string, decide func(*inventory.Product) ([]messages.Event, error)) {
	switch c := cmd.(type) {
	case messages.ReserveStock:
		return ReserveStockHandler, c.ProductID, decideReserveStock(c)
	case messages.ReleaseStock:
		return ReleaseStockHandler, c.ProductID, decideReleaseStock(c)
	case messages.CommitStock:
		return CommitStockHandler, c.ProductID, decideCommitStock(c)
	}
	return "", "", nil
}

// paymentsDecision covers the payments commands that are decided on the
// account alone; AuthorizePayment asks the provider (handlePayments).
func paymentsDecision(cmd messages.Command) (handler, customerID string, decide func(*payments.Customer) ([]messages.Event, error)) {
	switch c := cmd.(type) {
	case messages.VoidPayment:
		return VoidPaymentHandler, c.CustomerID, decideVoidPayment(c)
	case messages.CapturePayment:
		return CapturePaymentHandler, c.CustomerID, decideCapturePayment(c)
	}
	return "", "", nil
}

// paymentsConcurrency bounds the customers whose commands one batch
// handles at once.
const paymentsConcurrency = 8

// handlePayments handles a batch's commands grouped by customer: each
// customer's in order (handlePaymentsInOrder), up to paymentsConcurrency
// customers at once, so an authorization waiting for the provider holds up
// only its own customer's commands.
func (h *Handlers) handlePayments(ctx context.Context, batch []Received) error {
	customer := func(r Received) string { return r.Command.AggregateID() }
	return consumer.Grouped(ctx, batch, customer, paymentsConcurrency, h.handlePaymentsInOrder)
}

// handlePaymentsInOrder executes the runs of commands between
// authorizations in one transaction each, and each AuthorizePayment alone,
// in order: an authorization calls the payment provider, which must not
// happen while a transaction holds the batch's streams.
func (h *Handlers) handlePaymentsInOrder(ctx context.Context, batch []Received) error {
	start := 0
	for i, r := range batch {
		auth, ok := r.Command.(messages.AuthorizePayment)
		if !ok {
			continue
		}
		if err := executeBatch(ctx, h, h.Customers, batch[start:i], paymentsDecision); err != nil {
			return err
		}
		actx, span := tracing.Start(ctx, r.Trace, PaymentsCommandsHandler+" "+auth.CommandName(), trace.SpanKindConsumer,
			attribute.String("orderflow.order_id", r.CorrelationID))
		err := h.authorizePayment(actx, Message{ID: r.ID, CorrelationID: r.CorrelationID, Trace: tracing.Carry(actx)}, auth)
		tracing.End(span, err)
		if err != nil {
			return err
		}
		start = i + 1
	}
	return executeBatch(ctx, h, h.Customers, batch[start:], paymentsDecision)
}

// executeBatch executes batch with x in one transaction, each command
// decided by decision; refusals are logged (they are recorded already).
func executeBatch[A Aggregate](ctx context.Context, h *Handlers, x *Executor[A], batch []Received,
	decision func(messages.Command) (handler, streamID string, decide func(A) ([]messages.Event, error))) error {
	calls := make([]Call[A], 0, len(batch))
	var spans []trace.Span // one per command, in its sender's trace (when tracing is on)
	for _, r := range batch {
		handler, streamID, decide := decision(r.Command)
		if decide == nil {
			return errcode.New(errcode.Internal, "command %s (message %s) has no handler here", r.Command.CommandName(), r.ID)
		}
		msg := Message{Handler: handler, ID: r.ID, CorrelationID: r.CorrelationID}
		if tracing.Enabled() {
			sctx, span := tracing.Start(ctx, r.Trace, handler, trace.SpanKindConsumer, attribute.String("orderflow.order_id", r.CorrelationID))
			msg.Trace, spans = tracing.Carry(sctx), append(spans, span)
		}
		calls = append(calls, Call[A]{Msg: msg, StreamID: streamID, Decide: decide})
	}
	results, err := x.ExecuteBatch(ctx, calls)
	for _, span := range spans {
		tracing.End(span, err)
	}
	if err != nil {
		return err
	}
	for i, res := range results {
		if res.Refusal != nil && !res.Duplicate {
			h.logger.InfoContext(ctx, "command refused", "handler", calls[i].Msg.Handler, "message_id", calls[i].Msg.ID,
				"stream_id", calls[i].StreamID, "code", errcode.Of(res.Refusal), "error", res.Refusal)
		}
	}
	return nil
}
