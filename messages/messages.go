// Package messages holds the contracts the bounded contexts share: every
// domain event and command as a plain, JSON-tagged value type. Events are
// stored forever and commands cross Kafka, so field names and type names are
// a wire format: add fields freely, never rename or repurpose one.
//
// Money is always money.Amount (integer minor units in JSON). Timestamps are
// set by the deciding aggregate from the clock its caller passes in; events
// without one take their time from the event store envelope.
package messages

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Event is a fact recorded on exactly one aggregate stream. EventType is the
// stable name stored next to the payload and used to decode it; AggregateID
// names the stream, which is also the Kafka partition key, so every event of
// one aggregate is consumed in order.
type Event interface {
	EventType() string
	AggregateID() string
}

// Command asks one aggregate to decide. AggregateID is the partition key, so
// one aggregate's commands are handled by one consumer at a time.
type Command interface {
	CommandName() string
	AggregateID() string
}

// registry maps stable names to decoders that return value types, so code
// downstream can type-switch on OrderPlaced rather than *OrderPlaced.
type registry[M any] struct {
	names   []string
	decoder map[string]func([]byte) (M, error)
}

func (r *registry[M]) add(name string, decode func([]byte) (M, error)) {
	if _, dup := r.decoder[name]; dup {
		panic("messages: duplicate name " + name)
	}
	r.names = append(r.names, name)
	r.decoder[name] = decode
}

func (r *registry[M]) decode(kind, name string, data []byte) (M, error) {
	var zero M
	decode, ok := r.decoder[name]
	if !ok {
		return zero, fmt.Errorf("decode %s %q: unknown %s", kind, name, kind)
	}
	m, err := decode(data)
	if err != nil {
		return zero, fmt.Errorf("decode %s %q: %w", kind, name, err)
	}
	return m, nil
}

func decodeJSON[T any](data []byte) (T, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

func event[T Event](r *registry[Event]) {
	var zero T
	r.add(zero.EventType(), func(data []byte) (Event, error) { return decodeJSON[T](data) })
}

func command[T Command](r *registry[Command]) {
	var zero T
	r.add(zero.CommandName(), func(data []byte) (Command, error) { return decodeJSON[T](data) })
}

var events = func() *registry[Event] {
	r := &registry[Event]{decoder: map[string]func([]byte) (Event, error){}}
	event[OrderPlaced](r)
	event[OrderStepCompleted](r)
	event[OrderCompensated](r)
	event[OrderCancellationRequested](r)
	event[OrderConfirmed](r)
	event[OrderCancelled](r)
	event[OrderFailed](r)
	event[ProductCreated](r)
	event[ProductRestocked](r)
	event[StockReserved](r)
	event[StockReservationRejected](r)
	event[StockReleased](r)
	event[StockCommitted](r)
	event[CustomerRegistered](r)
	event[FundsAdded](r)
	event[PaymentAuthorized](r)
	event[PaymentAuthorizationRejected](r)
	event[PaymentCaptured](r)
	event[PaymentVoided](r)
	return r
}()

var commands = func() *registry[Command] {
	r := &registry[Command]{decoder: map[string]func([]byte) (Command, error){}}
	command[PlaceOrder](r)
	command[MarkOrderStep](r)
	command[RecordOrderCompensation](r)
	command[ConfirmOrder](r)
	command[CancelOrder](r)
	command[CompleteOrderCancellation](r)
	command[FailOrder](r)
	command[CreateProduct](r)
	command[RestockProduct](r)
	command[ReserveStock](r)
	command[ReleaseStock](r)
	command[CommitStock](r)
	command[RegisterCustomer](r)
	command[AddFunds](r)
	command[AuthorizePayment](r)
	command[VoidPayment](r)
	command[CapturePayment](r)
	return r
}()

// DecodeEvent turns a stored or published payload back into its concrete
// value type (OrderPlaced, not *OrderPlaced). Unknown types are an error, not
// a silent skip, so a consumer older than its producer notices.
func DecodeEvent(eventType string, data []byte) (Event, error) {
	return events.decode("event", eventType, data)
}

// EventTypes lists every known event type, grouped by context, for routing
// tables, topic subscriptions and exhaustive tests.
func EventTypes() []string { return slices.Clone(events.names) }

// DecodeCommand turns a command payload back into its concrete value type.
func DecodeCommand(name string, data []byte) (Command, error) {
	return commands.decode("command", name, data)
}

// CommandNames lists every known command name.
func CommandNames() []string { return slices.Clone(commands.names) }
