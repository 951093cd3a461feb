package outbox_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/outbox"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

// insertEvent appends one event of a product stream with a plain INSERT,
// past the event store's API and the command path (which may refuse it),
// as an event written before any size check existed sits in the store.
func (f *fixture) insertEvent(t *testing.T, e messages.Event, version int) eventstore.Record {
	t.Helper()
	data, err := json.Marshal(e)
	require.NoError(t, err)
	rec := eventstore.Record{EventID: uuid.New(), StreamID: e.AggregateID(), StreamType: "Product", Version: version, EventType: e.EventType(), Data: data}
	var txid int64
	err = f.env.Pool.QueryRow(t.Context(), `INSERT INTO inventory.events (event_id, stream_id, stream_type, version, event_type, data)
		VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING position, transaction_id::text::bigint, created_at`,
		rec.EventID, rec.StreamID, rec.StreamType, rec.Version, rec.EventType, string(data)).Scan(&rec.Position, &txid, &rec.CreatedAt)
	require.NoError(t, err)
	rec.TransactionID = uint64(txid)
	return rec
}

// blockedRow is a row of inventory.relay_blocked_streams.
type blockedRow struct {
	EventID        uuid.UUID
	Version        int
	Position       int64
	SizeBytes      int
	Error          string
	Refusals       int
	RetryRequested bool
}

func (f *fixture) blockedStreams(t *testing.T) map[string]blockedRow {
	t.Helper()
	out := map[string]blockedRow{}
	rows, err := f.env.Pool.Query(t.Context(), `SELECT stream_id, event_id, version, position, size_bytes, error, refusals, retry_requested_at IS NOT NULL
		FROM inventory.relay_blocked_streams WHERE relay = $1`, outbox.DefaultName)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id string
		var r blockedRow
		require.NoError(t, rows.Scan(&id, &r.EventID, &r.Version, &r.Position, &r.SizeBytes, &r.Error, &r.Refusals, &r.RetryRequested))
		out[id] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// requestRetry is the operator's unblock statement from the README.
func (f *fixture) requestRetry(t *testing.T, streamID string) {
	t.Helper()
	tag, err := f.env.Pool.Exec(t.Context(), `UPDATE inventory.relay_blocked_streams SET retry_requested_at = now()
		WHERE relay = 'kafka' AND stream_id = $1`, streamID)
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected())
}

// storedVersions lists the versions of a stream in the event store.
func (f *fixture) storedVersions(t *testing.T, streamID string) []int {
	t.Helper()
	records, err := f.store.ReadStream(t.Context(), f.env.Pool, streamID, 0)
	require.NoError(t, err)
	var out []int
	for _, r := range records {
		out = append(out, r.Version)
	}
	return out
}

// deliveredOf returns the versions of streamID's distinct deliveries, in
// arrival order.
func (c *consumer) deliveredOf(streamID string) []int {
	var out []int
	for _, d := range c.distinct() {
		if d.env.StreamID == streamID {
			out = append(out, d.env.Version)
		}
	}
	return out
}

// logBuffer collects a relay's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// captureLogs makes the fixture's relays log into the returned buffer
// (shown when the test fails).
func (f *fixture) captureLogs(t *testing.T) *logBuffer {
	b := &logBuffer{}
	f.logger = slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Log(b.buf.String())
			b.mu.Unlock()
		}
	})
	return b
}

// entries returns the log entries with message msg.
func (b *logBuffer) entries(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

const refusedLog = "event refused by the broker for good, its stream is blocked"

// An event larger than the producer accepts sits in the event store of
// stream A, before events of A and B. The relay publishes every event of B
// (and keeps doing so), none of A, blocks A durably (a restarted relay
// still holds it back) and says so in a metric and an error log; A's
// events all stay in the store, in order. A retry requested while the
// cause remains is refused again and changes nothing else.
func TestEventTooLargeForKafkaBlocksOnlyItsStream(t *testing.T) {
	t.Parallel()
	f := setup(t, 1) // one partition: arrival order is publish order
	ctx := t.Context()
	logs := f.captureLogs(t)
	limit := kafka.SaramaConfig("outbox-test").Producer.MaxMessageBytes
	a, b := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8]

	big := f.insertEvent(t, messages.ProductCreated{ProductID: a, SKU: "A", Name: strings.Repeat("x", limit), Price: 100, InitialStock: 1}, 1)
	require.NoError(t, f.appendEvents(ctx, b, 2))
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 2}, 2)
	require.NoError(t, f.appendEvents(ctx, b, 1))

	relay := f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 3 }, deliveryTimeout, tick, "B is published past A's refused event")
	require.Equal(t, []int{1, 2, 3}, c.deliveredOf(b))
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_blocked_streams") == 1 }, deliveryTimeout, tick)
	require.Equal(t, 1.0, relay.metric(t, "orderflow_relay_refused_events_total"))
	require.Zero(t, relay.metric(t, "orderflow_relay_publish_errors_total"), "a refusal is not retried as a failure")

	// A's later event is held back, B's later event is not.
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 3}, 3)
	require.NoError(t, f.appendEvents(ctx, b, 1))
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 4 }, deliveryTimeout, tick)
	require.Empty(t, c.deliveredOf(a), "nothing of A is published, so nothing of it out of order")

	blocked := f.blockedStreams(t)
	require.Len(t, blocked, 1)
	row := blocked[a]
	require.Equal(t, big.EventID, row.EventID)
	require.Equal(t, 1, row.Version)
	require.Equal(t, big.Position, row.Position)
	require.Greater(t, row.SizeBytes, limit)
	require.Contains(t, row.Error, "MaxMessageBytes")
	require.Equal(t, 1, row.Refusals)
	require.False(t, row.RetryRequested)
	require.Equal(t, []int{1, 2, 3}, f.storedVersions(t, a), "A's events are all still in the store, in order")

	entries := logs.entries(t, refusedLog)
	require.Len(t, entries, 1)
	e := entries[0]
	require.Equal(t, "ERROR", e["level"])
	require.Equal(t, schema, e["context"])
	require.Equal(t, a, e["stream_id"])
	require.Equal(t, big.EventID.String(), e["event_id"])
	require.Equal(t, "inventory.ProductCreated", e["event_type"])
	require.EqualValues(t, 1, e["version"])
	require.EqualValues(t, big.Position, e["position"])
	require.Greater(t, e["size_bytes"], float64(limit))

	// A restarted relay still holds A back and still reports it.
	relay.stop(t)
	restarted := f.startRelay(t, f.testConfig(), nil)
	require.Eventually(t, func() bool { return restarted.metric(t, "orderflow_relay_blocked_streams") == 1 }, deliveryTimeout, tick)
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 4}, 4)
	require.NoError(t, f.appendEvents(ctx, b, 1))
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 5 }, deliveryTimeout, tick)
	require.Empty(t, c.deliveredOf(a))

	// Retrying while the event is still too large refuses it again.
	f.requestRetry(t, a)
	require.Eventually(t, func() bool {
		r := f.blockedStreams(t)[a]
		return r.Refusals == 2 && !r.RetryRequested
	}, deliveryTimeout, tick, "the retry is refused again and the request cleared")
	require.Equal(t, big.EventID, f.blockedStreams(t)[a].EventID)
	require.Equal(t, 1.0, restarted.metric(t, "orderflow_relay_blocked_streams"))
	require.Equal(t, 1.0, restarted.metric(t, "orderflow_relay_refused_events_total"))
	require.NoError(t, f.appendEvents(ctx, b, 1))
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 6 }, deliveryTimeout, tick)
	require.Empty(t, c.deliveredOf(a))
	require.Equal(t, []int{1, 2, 3, 4}, f.storedVersions(t, a))
}

// The broker refuses an event (the refusal names its innocent neighbours
// too, as a refused record batch does) until the cause is removed. The
// relay publishes the neighbours, blocks the one stream from the refused
// event on, and once the operator asks for a retry publishes the stream's
// waiting events in order and lets it flow again.
func TestRetriedBlockedStreamIsPublishedInOrder(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	ctx := t.Context()
	a, b := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8]

	require.NoError(t, f.appendEvents(ctx, b, 1))
	f.insertEvent(t, messages.ProductCreated{ProductID: a, SKU: "A", Name: "Lamp", Price: 100}, 1)
	bad := f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 2}, 2)
	require.NoError(t, f.appendEvents(ctx, b, 1))
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 3}, 3)
	require.NoError(t, f.appendEvents(ctx, b, 1))

	var fixed atomic.Bool
	pub := &testPublisher{refuse: func(e eventstore.Record) bool { return !fixed.Load() && e.EventID == bad.EventID }}
	relay := f.startRelay(t, f.testConfig(), pub)
	c := f.consume(t)
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 3 }, deliveryTimeout, tick)
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_blocked_streams") == 1 }, deliveryTimeout, tick)
	require.Equal(t, []int{1}, c.deliveredOf(a), "A up to its refused event")
	require.Equal(t, 2, f.blockedStreams(t)[a].Version)

	// Still blocked: a new event of A waits, one of B does not.
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 4}, 4)
	require.NoError(t, f.appendEvents(ctx, b, 1))
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 4 }, deliveryTimeout, tick)
	require.Equal(t, []int{1}, c.deliveredOf(a))

	fixed.Store(true)
	f.requestRetry(t, a)
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_blocked_streams") == 0 }, deliveryTimeout, tick)
	require.Empty(t, f.blockedStreams(t), "an unblocked stream leaves no row")
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 5}, 5)
	require.NoError(t, f.appendEvents(ctx, b, 1))

	f.requireAllDelivered(t, c) // every event, each stream in version order
	require.Equal(t, []int{1, 2, 3, 4, 5}, c.deliveredOf(a))
	require.Equal(t, 1.0, relay.metric(t, "orderflow_relay_refused_events_total"))
}

// The topic accepts records of at most 16 KiB, far below the producer's
// limit, so it is the broker that refuses the large event (with
// MESSAGE_TOO_LARGE, for the whole record batch it shares with others):
// the relay tells the culprit from its neighbours and blocks only its
// stream.
func TestEventTheBrokerRefusesBlocksOnlyItsStream(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	topic := env.Config.Topic(messages.EventsTopic(schema))
	admin, err := sarama.NewClusterAdmin(env.Config.KafkaBrokers, kafka.SaramaConfig("outbox-test"))
	require.NoError(t, err)
	maxBytes := strconv.Itoa(16 << 10)
	require.NoError(t, admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"max.message.bytes": &maxBytes}}, false))
	require.NoError(t, admin.Close())
	require.NoError(t, kafka.EnsureTopics(env.Config.KafkaBrokers, 1, topic))
	f := &fixture{env: env, store: eventstore.New(env.Pool, schema), topic: topic, logger: env.Logger}
	ctx := t.Context()
	a, b, c3 := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8], "product-c-"+uuid.NewString()[:8]

	// Random text: compression cannot bring it under the topic's limit.
	noise := make([]byte, 48<<10)
	_, _ = rand.Read(noise)
	require.NoError(t, f.appendEvents(ctx, b, 1))
	big := f.insertEvent(t, messages.ProductCreated{ProductID: a, SKU: "A", Name: base64.StdEncoding.EncodeToString(noise), Price: 100}, 1)
	require.NoError(t, f.appendEvents(ctx, b, 1))
	require.NoError(t, f.appendEvents(ctx, c3, 1))
	f.insertEvent(t, messages.ProductRestocked{ProductID: a, Quantity: 2}, 2)
	require.NoError(t, f.appendEvents(ctx, c3, 1))

	relay := f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)
	require.Eventually(t, func() bool { return len(c.deliveredOf(b)) == 2 && len(c.deliveredOf(c3)) == 2 }, deliveryTimeout, tick)
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_blocked_streams") == 1 }, deliveryTimeout, tick)
	require.Empty(t, c.deliveredOf(a))
	row, ok := f.blockedStreams(t)[a]
	require.True(t, ok, "A is blocked")
	require.Equal(t, big.EventID, row.EventID)
	require.Contains(t, row.Error, sarama.ErrMessageSizeTooLarge.Error())
	require.Len(t, f.blockedStreams(t), 1, "only A: its neighbours in the refused record batch were published")
}
