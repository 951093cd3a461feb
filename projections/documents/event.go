package documents

import (
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Event is one stored event as a fold sees it: the envelope that places it
// in its stream and the decoded payload. Kafka records and event store rows
// turn into the same Event (the projector decodes both), so the live
// projector and the rebuild fold identical input and produce identical
// documents.
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
