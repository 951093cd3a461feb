package messages

// Size limits of what crosses Kafka. They are stated once, here, and every
// place that enforces one derives it from these constants:
//
//   - the broker's message.max.bytes, which deploy/local/deps writes into
//     server.properties (a test checks the script against MaxMessageBytes),
//   - every topic's max.message.bytes, which kafka.EnsureTopics sets,
//   - every producer's Producer.MaxMessageBytes (kafka.SaramaConfig), a
//     little below the broker's limit so that a record batch's framing and
//     compression never push an accepted record over it,
//   - the event store, which refuses to append an event whose payload is
//     larger than MaxEventBytes: an event that could never be published
//     would stop its context's relay.
//
// The domain's input bounds (command/domain/limits) keep real events far below
// these limits; the size check at append time is the defence behind them.
const (
	// MaxMessageBytes is the largest record batch a broker or topic
	// accepts: 1 MiB, Kafka's usual limit.
	MaxMessageBytes = 1 << 20
	// MaxEventBytes is the largest JSON payload of one event the event
	// store appends. The rest of MaxMessageBytes is left for the record's
	// key, its envelope headers and the batch's framing and compression.
	MaxEventBytes = MaxMessageBytes - 64<<10
)
