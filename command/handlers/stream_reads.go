package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/messages"
)

// ErrUndecodable marks a recorded event that does not decode: reading the
// stream again will not help.
var ErrUndecodable = errors.New("a recorded event does not decode")

// EventsAfter returns the events of streamID after version afterVersion,
// oldest first, decoded: what a follower of the stream (a live
// subscription) applies to catch up. An event that does not decode ends
// the list: the events before it are returned with an error wrapping
// ErrUndecodable.
func (x *Executor[A]) EventsAfter(ctx context.Context, streamID string, afterVersion int) ([]messages.Event, error) {
	records, err := x.store.ReadStream(ctx, x.store.Pool(), streamID, afterVersion)
	if err != nil {
		return nil, err
	}
	events := make([]messages.Event, 0, len(records))
	for _, r := range records {
		e, err := r.Decode()
		if err != nil {
			return events, fmt.Errorf("event %s of stream %s: %w: %w", r.EventID, streamID, ErrUndecodable, err)
		}
		events = append(events, e)
	}
	return events, nil
}

// RecordedEvent is an event as a context's event store recorded it: one
// entry of an order's audit trail.
type RecordedEvent struct {
	// Context is the context whose store holds it (the store's schema:
	// ordering, inventory or payments).
	Context string
	messages.Envelope
	// Data is the event as recorded (JSON).
	Data json.RawMessage
}

// OrderTrail returns the events recorded about orderID: its own stream,
// oldest first, and with allContexts then the inventory and payments
// events that name the order (reservations and holds, their commits,
// captures, releases and voids), each store's in position order.
//
// allow sees the order folded from its stream (version 0 when there is
// none) before anything else is read, and its error is returned as is:
// the caller's ownership check, on the same read as the trail.
func (h *Handlers) OrderTrail(ctx context.Context, orderID string, allow func(*ordering.Order) error, allContexts bool) ([]RecordedEvent, error) {
	store := h.Orders.store
	records, err := store.ReadStream(ctx, store.Pool(), orderID, 0)
	if err != nil {
		return nil, err
	}
	order := h.Orders.newAgg()
	if err := applyRecords(order, orderID, records); err != nil {
		return nil, err
	}
	if err := allow(order); err != nil {
		return nil, err
	}
	out := recordedEvents(nil, store.Schema(), records)
	if !allContexts {
		return out, nil
	}
	for _, other := range []*eventstore.Store{h.Products.store, h.Customers.store} {
		records, err := other.ReadByOrder(ctx, orderID)
		if err != nil {
			return nil, err
		}
		out = recordedEvents(out, other.Schema(), records)
	}
	return out, nil
}

func recordedEvents(out []RecordedEvent, context string, records []eventstore.Record) []RecordedEvent {
	for _, r := range records {
		out = append(out, RecordedEvent{Context: context, Data: r.Data, Envelope: messages.Envelope{
			EventID: r.EventID.String(), EventType: r.EventType, StreamID: r.StreamID, StreamType: r.StreamType,
			Version: r.Version, Position: r.Position, CorrelationID: r.CorrelationID, CausationID: r.CausationID,
			OccurredAt: r.CreatedAt,
		}})
	}
	return out
}
