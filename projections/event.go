package projections

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections/documents"
)

// EventFromRecord decodes an event store row into the event the folds of
// package documents take (the rebuild and the healing of gaps read these).
func EventFromRecord(r eventstore.Record) (documents.Event, error) {
	payload, err := r.Decode()
	if err != nil {
		return documents.Event{}, fmt.Errorf("decode event %s of stream %s: %w", r.EventID, r.StreamID, err)
	}
	return documents.Event{
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
func EventFromMessage(msg *message.Message) (documents.Event, error) {
	env, err := messages.ParseEnvelope(msg.Metadata)
	if err != nil {
		return documents.Event{}, fmt.Errorf("message %s: %w", msg.UUID, err)
	}
	payload, err := messages.DecodeEvent(env.EventType, msg.Payload)
	if err != nil {
		return documents.Event{}, fmt.Errorf("event %s of stream %s: %w", env.EventID, env.StreamID, err)
	}
	return documents.Event{
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

func recordsToEvents(records []eventstore.Record) ([]documents.Event, error) {
	out := make([]documents.Event, len(records))
	for i, r := range records {
		e, err := EventFromRecord(r)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}
