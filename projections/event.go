package projections

import (
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/messages"
)

// Event is one stored event as a projection sees it: the envelope that
// places it in its stream and the decoded payload. Kafka records and event
// store rows turn into the same Event, so the live projector and the
// rebuild fold identical input and produce identical documents.
type Event struct {
	ID            string
	Type          string
	StreamID      string
	StreamType    string
	Version       int
	Position      int64
	OccurredAt    time.Time
	CorrelationID string
	CausationID   string
	Payload       messages.Event
}

// EventFromRecord decodes an event store row.
func EventFromRecord(r eventstore.Record) (Event, error) {
	payload, err := r.Decode()
	if err != nil {
		return Event{}, fmt.Errorf("decode event %s of stream %s: %w", r.EventID, r.StreamID, err)
	}
	return Event{
		ID:            r.EventID.String(),
		Type:          r.EventType,
		StreamID:      r.StreamID,
		StreamType:    r.StreamType,
		Version:       r.Version,
		Position:      r.Position,
		OccurredAt:    r.CreatedAt.UTC(),
		CorrelationID: r.CorrelationID,
		CausationID:   r.CausationID,
		Payload:       payload,
	}, nil
}

// EventFromMessage decodes a record of an event topic (headers as written
// by the outbox relay, payload as JSON).
func EventFromMessage(msg *message.Message) (Event, error) {
	env, err := messages.ParseEnvelope(msg.Metadata)
	if err != nil {
		return Event{}, fmt.Errorf("message %s: %w", msg.UUID, err)
	}
	payload, err := messages.DecodeEvent(env.EventType, msg.Payload)
	if err != nil {
		return Event{}, fmt.Errorf("event %s of stream %s: %w", env.EventID, env.StreamID, err)
	}
	return Event{
		ID:            env.EventID,
		Type:          env.EventType,
		StreamID:      env.StreamID,
		StreamType:    env.StreamType,
		Version:       env.Version,
		Position:      env.Position,
		OccurredAt:    env.OccurredAt.UTC(),
		CorrelationID: env.CorrelationID,
		CausationID:   env.CausationID,
		Payload:       payload,
	}, nil
}

func recordsToEvents(records []eventstore.Record) ([]Event, error) {
	out := make([]Event, len(records))
	for i, r := range records {
		e, err := EventFromRecord(r)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}
