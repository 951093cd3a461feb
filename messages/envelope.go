package messages

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Kafka record headers of every published event. The relay (command/outbox)
// writes them from the event store row; the saga and the projectors read them
// instead of decoding the payload to find out what a record is. They are a
// wire format like the payloads: add headers freely, never rename one.
//
// The record key is the stream id, so every event of one aggregate lands on
// one partition, in version order. The value is the event's JSON payload.
const (
	// HeaderEventID is the event's unique id (a UUID). Delivery is
	// at least once, so consumers dedupe by it.
	HeaderEventID = "event_id"
	// HeaderEventType is the stable name that decodes the payload
	// (DecodeEvent).
	HeaderEventType = "event_type"
	// HeaderStreamID is the aggregate id, also the record key.
	HeaderStreamID = "stream_id"
	// HeaderStreamType names the kind of aggregate (Order, Product, Customer).
	HeaderStreamType = "stream_type"
	// HeaderVersion is the event's version within its stream (1, 2, ...);
	// read models use it as the external document version.
	HeaderVersion = "version"
	// HeaderPosition is the event's position in its context's event store,
	// unique per context but not in commit order.
	HeaderPosition = "position"
	// HeaderCorrelationID ties together everything one order caused. Absent
	// when the event has none.
	HeaderCorrelationID = "correlation_id"
	// HeaderCausationID is the id of the message that caused the event.
	// Absent when the event has none.
	HeaderCausationID = "causation_id"
	// HeaderOccurredAt is when the event was appended, RFC 3339 with
	// nanoseconds, in UTC.
	HeaderOccurredAt = "occurred_at"
	// HeaderWatermillUUID is the header watermill's Kafka unmarshaler turns
	// into msg.UUID. The relay sets it to the event id, so a watermill
	// subscriber sees msg.UUID == event id.
	HeaderWatermillUUID = "_watermill_message_uuid"
)

// The base names of the event topics, one per bounded context. Deployments
// that share a cluster prefix them (config.Config.Topic).
const (
	OrderingEventsTopic  = "orderflow.ordering.events"
	InventoryEventsTopic = "orderflow.inventory.events"
	PaymentsEventsTopic  = "orderflow.payments.events"
)

// EventsTopic is the base name of the topic that carries the events of
// context ("ordering", "inventory" or "payments").
func EventsTopic(context string) string {
	return "orderflow." + context + ".events"
}

// Envelope is what the headers of an event record say about the event,
// parsed. The payload itself is decoded with DecodeEvent(EventType, value).
type Envelope struct {
	EventID       string
	EventType     string
	StreamID      string
	StreamType    string
	Version       int
	Position      int64
	CorrelationID string
	CausationID   string
	OccurredAt    time.Time
}

// Headers returns the envelope as record headers, including the watermill
// UUID header. Empty correlation and causation ids are left out.
func (e Envelope) Headers() map[string]string {
	h := map[string]string{
		HeaderEventID:       e.EventID,
		HeaderWatermillUUID: e.EventID,
		HeaderEventType:     e.EventType,
		HeaderStreamID:      e.StreamID,
		HeaderStreamType:    e.StreamType,
		HeaderVersion:       strconv.Itoa(e.Version),
		HeaderPosition:      strconv.FormatInt(e.Position, 10),
		HeaderOccurredAt:    e.OccurredAt.UTC().Format(time.RFC3339Nano),
	}
	if e.CorrelationID != "" {
		h[HeaderCorrelationID] = e.CorrelationID
	}
	if e.CausationID != "" {
		h[HeaderCausationID] = e.CausationID
	}
	return h
}

// ParseEnvelope reads the envelope from record headers; a watermill
// message's Metadata can be passed as is. The watermill UUID header is not
// needed: watermill moves it into msg.UUID. A record without event id, type,
// stream id or a valid version is an error, so a consumer never acts on an
// event it cannot place.
func ParseEnvelope(headers map[string]string) (Envelope, error) {
	e := Envelope{
		EventID:       headers[HeaderEventID],
		EventType:     headers[HeaderEventType],
		StreamID:      headers[HeaderStreamID],
		StreamType:    headers[HeaderStreamType],
		CorrelationID: headers[HeaderCorrelationID],
		CausationID:   headers[HeaderCausationID],
	}
	var errs []error
	for _, name := range []string{HeaderEventID, HeaderEventType, HeaderStreamID} {
		if headers[name] == "" {
			errs = append(errs, fmt.Errorf("header %s is missing", name))
		}
	}
	v, err := strconv.Atoi(headers[HeaderVersion])
	if err != nil || v < 1 {
		errs = append(errs, fmt.Errorf("header %s is not a version: %q", HeaderVersion, headers[HeaderVersion]))
	}
	e.Version = v
	if p := headers[HeaderPosition]; p != "" {
		if e.Position, err = strconv.ParseInt(p, 10, 64); err != nil {
			errs = append(errs, fmt.Errorf("header %s is not a position: %q", HeaderPosition, p))
		}
	}
	if at := headers[HeaderOccurredAt]; at != "" {
		if e.OccurredAt, err = time.Parse(time.RFC3339Nano, at); err != nil {
			errs = append(errs, fmt.Errorf("header %s is not an RFC 3339 time: %q", HeaderOccurredAt, at))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Envelope{}, fmt.Errorf("parse event envelope: %w", err)
	}
	return e, nil
}
