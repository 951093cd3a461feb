package outbox_test

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/outbox"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
	"github.com/orderflow/orderflow/messages"
)

const (
	schema = "inventory"
	// deliveryTimeout bounds waiting for Kafka; generous because every
	// server shares a small machine with the rest of the suite.
	deliveryTimeout = 90 * time.Second
	tick            = 20 * time.Millisecond
)

// fixture is one test's database, topic and event store.
type fixture struct {
	env   *testenv.Env
	store *eventstore.Store
	topic string
	// logger is the relays' logger (the test's by default).
	logger *slog.Logger
}

// setup gives the test its own database and an inventory events topic with
// the given number of partitions.
func setup(t *testing.T, partitions int32) *fixture {
	t.Helper()
	env := testenv.New(t)
	topic := env.Config.Topic(messages.EventsTopic(schema))
	require.NoError(t, kafka.EnsureTopics(env.Config.KafkaBrokers, partitions, topic))
	return &fixture{env: env, store: eventstore.New(env.Pool, schema), topic: topic, logger: env.Logger}
}

// testConfig is a relay config with short intervals, so fail-over and
// polling happen within a test's patience.
func (f *fixture) testConfig() outbox.Config {
	return outbox.Config{
		Schema:               schema,
		Topic:                f.topic,
		PollInterval:         200 * time.Millisecond,
		LockRetryInterval:    50 * time.Millisecond,
		PublishRetryInterval: 20 * time.Millisecond,
	}
}

// runningRelay is a relay instance running in the background, as one
// process of a deployment would: its own Kafka producer, its own metrics.
type runningRelay struct {
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

// startRelay runs a relay with cfg until stop or the end of the test. pub
// wraps the instance's own Kafka publisher when not nil.
func (f *fixture) startRelay(t *testing.T, cfg outbox.Config, pub *testPublisher) *runningRelay {
	t.Helper()
	kp := outbox.NewKafkaPublisher(f.env.Config.KafkaBrokers, "outbox-test")
	t.Cleanup(func() { _ = kp.Close() })
	var p outbox.Publisher = kp
	if pub != nil {
		pub.Publisher = kp
		p = pub
	}
	reg := prometheus.NewRegistry()
	relay, err := outbox.New(f.env.Pool, p, cfg, f.logger, reg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningRelay{reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- relay.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels the relay and waits for Run to return nil.
func (r *runningRelay) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			require.NoError(t, err)
			close(r.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("relay did not stop within 30s of its context ending")
	}
}

// metric reads one series of the relay's registry (0 when absent).
func (r *runningRelay) metric(t *testing.T, name string) float64 {
	t.Helper()
	families, err := r.reg.Gather()
	require.NoError(t, err)
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	return 0
}

func (r *runningRelay) active(t *testing.T) bool {
	return r.metric(t, "orderflow_relay_active") == 1
}

func (r *runningRelay) published(t *testing.T) int {
	return int(r.metric(t, "orderflow_relay_events_published_total"))
}

// testPublisher wraps a real publisher: it can fail the first calls
// without publishing, refuse events for good, and run a hook after each
// successful publish.
type testPublisher struct {
	outbox.Publisher
	failFirst    int64
	afterPublish func(call int, events []eventstore.Record)
	// refuse, when set, picks events to refuse as a broker refuses a
	// record batch: a batch holding one is not published, and the
	// refusal names every event of it, the innocent ones too.
	refuse func(eventstore.Record) bool

	calls atomic.Int64
	fails atomic.Int64
}

func (p *testPublisher) Publish(ctx context.Context, topic string, events []eventstore.Record) error {
	if p.fails.Add(1) <= p.failFirst {
		return errors.New("kafka unavailable (injected by test)")
	}
	if p.refuse != nil && slices.ContainsFunc(events, p.refuse) {
		refused := &outbox.RefusedError{}
		for _, e := range events {
			refused.Refusals = append(refused.Refusals, outbox.Refusal{EventID: e.EventID, Size: len(e.Data), Err: sarama.ErrInvalidRecord})
		}
		return refused
	}
	if err := p.Publisher.Publish(ctx, topic, events); err != nil {
		return err
	}
	if p.afterPublish != nil {
		p.afterPublish(int(p.calls.Add(1)), events)
	}
	return nil
}

// delivery is one record as a consumer saw it.
type delivery struct {
	uuid     string
	env      messages.Envelope
	key      string
	payload  string
	parseErr error
}

// consumer reads the topic in a consumer group of its own, the way the saga
// and the projectors do, and keeps every delivery in arrival order.
type consumer struct {
	mu  sync.Mutex
	got []delivery
}

func (f *fixture) consume(t *testing.T) *consumer {
	t.Helper()
	cfg := f.env.Config
	sub, err := kafka.NewSubscriber(cfg.KafkaBrokers, cfg.ConsumerGroup("check-"+uuid.NewString()[:8]), "outbox-test", watermill.NopLogger{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	msgs, err := sub.Subscribe(ctx, f.topic)
	require.NoError(t, err)
	c := &consumer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range msgs {
			env, err := messages.ParseEnvelope(m.Metadata)
			c.mu.Lock()
			c.got = append(c.got, delivery{uuid: m.UUID, env: env, key: m.Metadata.Get(kafka.PartitionKeyHeader), payload: string(m.Payload), parseErr: err})
			c.mu.Unlock()
			m.Ack()
		}
	}()
	t.Cleanup(func() {
		cancel()
		_ = sub.Close()
		<-done
	})
	return c
}

// all returns every delivery so far, duplicates included.
func (c *consumer) all() []delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// distinct returns the first delivery of each event id, in arrival order.
func (c *consumer) distinct() []delivery {
	seen := map[string]bool{}
	var out []delivery
	for _, d := range c.all() {
		if !seen[d.uuid] {
			seen[d.uuid] = true
			out = append(out, d)
		}
	}
	return out
}

func (c *consumer) has(eventID uuid.UUID) bool {
	for _, d := range c.all() {
		if d.uuid == eventID.String() {
			return true
		}
	}
	return false
}

// requireAllDelivered waits until every event of the store has arrived,
// then checks each delivery against the stored event and each stream's
// versions for order: after dedupe by event id they must run 1, 2, 3, ...
func (f *fixture) requireAllDelivered(t *testing.T, c *consumer) []delivery {
	t.Helper()
	stored, err := f.store.ReadAll(t.Context(), 0, 1_000_000)
	require.NoError(t, err)
	require.NotEmpty(t, stored)
	require.Eventually(t, func() bool { return len(c.distinct()) >= len(stored) }, deliveryTimeout, tick,
		"every appended event reaches the topic")

	got := c.distinct()
	require.Len(t, got, len(stored), "no event the store does not have")
	byID := map[string]eventstore.Record{}
	for _, r := range stored {
		byID[r.EventID.String()] = r
	}
	next := map[string]int{}
	for _, d := range got {
		require.NoError(t, d.parseErr)
		r, ok := byID[d.uuid]
		require.True(t, ok, "delivered event %s is in the store", d.uuid)
		require.Equal(t, messages.Envelope{
			EventID: r.EventID.String(), EventType: r.EventType, StreamID: r.StreamID, StreamType: r.StreamType,
			Version: r.Version, Position: r.Position, CorrelationID: r.CorrelationID, CausationID: r.CausationID,
			OccurredAt: r.CreatedAt.UTC(),
		}, d.env)
		require.Equal(t, r.StreamID, d.key)
		require.JSONEq(t, string(r.Data), d.payload)
		next[d.env.StreamID]++
		require.Equal(t, next[d.env.StreamID], d.env.Version, "stream %s arrives in version order", d.env.StreamID)
	}
	return got
}

// appendEvents appends 1-3 events to streamID in a transaction that reads
// the stream's version first (as command handlers do), retrying on a
// concurrency conflict.
func (f *fixture) appendEvents(ctx context.Context, streamID string, n int) error {
	for {
		err := pgx.BeginFunc(ctx, f.store.Pool(), func(tx pgx.Tx) error {
			version, err := f.store.StreamVersion(ctx, tx, streamID)
			if err != nil {
				return err
			}
			var events []messages.Event
			if version == 0 {
				events = append(events, messages.ProductCreated{ProductID: streamID, SKU: streamID, Name: "Lamp", Price: 1999})
			}
			for len(events) < n {
				events = append(events, messages.ProductRestocked{ProductID: streamID, Quantity: version + len(events)})
			}
			_, err = f.store.Append(ctx, tx, streamID, "Product", version, eventstore.Metadata{CorrelationID: "order-" + streamID, CausationID: uuid.NewString()}, events...)
			return err
		})
		if !errors.Is(err, eventstore.ErrConcurrencyConflict) {
			return err
		}
	}
}

// appendLoad runs writers goroutines appending to a shared set of streams
// (so they contend) until stop is closed or each made perWriter appends.
func (f *fixture) appendLoad(t *testing.T, writers, perWriter int, streams []string, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range perWriter {
				select {
				case <-stop:
					return
				default:
				}
				if err := f.appendEvents(context.Background(), streams[rand.IntN(len(streams))], 1+rand.IntN(3)); err != nil {
					t.Errorf("append: %v", err)
					return
				}
			}
		})
	}
	return &wg
}

func streamIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "product-" + strconv.Itoa(i) + "-" + uuid.NewString()[:8]
	}
	return ids
}

// checkpointOf reads the relay's stored checkpoint.
func (f *fixture) checkpointOf(t *testing.T, relay string) (txid uint64, position int64) {
	t.Helper()
	var tx string
	err := f.env.Pool.QueryRow(t.Context(), `SELECT transaction_id::text, position FROM inventory.relay_checkpoints WHERE relay = $1`, relay).Scan(&tx, &position)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0
	}
	require.NoError(t, err)
	txid, err = strconv.ParseUint(tx, 10, 64)
	require.NoError(t, err)
	return txid, position
}

// Several writers contend for the same streams while the relay runs: every
// event arrives, with its envelope, and each stream in version order.
func TestRelayPublishesEveryEventInStreamOrder(t *testing.T) {
	t.Parallel()
	f := setup(t, 4)
	relay := f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)

	f.appendLoad(t, 4, 40, streamIDs(20), nil).Wait()
	got := f.requireAllDelivered(t, c)

	require.True(t, relay.active(t))
	// Metrics follow the checkpoint, which a consumer can outrun.
	require.Eventually(t, func() bool { return relay.published(t) >= len(got) }, deliveryTimeout, tick)
	require.GreaterOrEqual(t, relay.metric(t, "orderflow_relay_batches_published_total"), 1.0)
	require.Zero(t, relay.metric(t, "orderflow_relay_publish_errors_total"))
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_lag_seconds") == 0 }, deliveryTimeout, tick,
		"a caught-up relay reports no lag")
	require.Eventually(t, func() bool {
		_, position := f.checkpointOf(t, outbox.DefaultName)
		return float64(position) == relay.metric(t, "orderflow_relay_last_published_position")
	}, deliveryTimeout, tick)
}

// THE gap case. Transaction A inserts a lower position than B but commits
// later. A position-ordered relay would publish B, remember B's position
// and never look below it again; this relay publishes B (its transaction id
// is older than A's, so nothing older is open), and then A once it
// commits.
func TestRelayPublishesEventOfTransactionThatCommitsAfterAHigherPosition(t *testing.T) {
	t.Parallel()
	f := setup(t, 1) // one partition: arrival order is publish order
	ctx := t.Context()
	f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)
	idA, idB := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8]

	txB, err := f.env.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = txB.Rollback(context.Background()) }()
	_, err = txB.Exec(ctx, `SELECT pg_current_xact_id()`) // B takes its transaction id first
	require.NoError(t, err)
	txA, err := f.env.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = txA.Rollback(context.Background()) }()
	recA, err := f.store.Append(ctx, txA, idA, "Product", 0, eventstore.Metadata{}, messages.ProductCreated{ProductID: idA, SKU: "A"})
	require.NoError(t, err)
	recB, err := f.store.Append(ctx, txB, idB, "Product", 0, eventstore.Metadata{}, messages.ProductCreated{ProductID: idB, SKU: "B"})
	require.NoError(t, err)
	require.Less(t, recA[0].Position, recB[0].Position, "A holds the lower position")
	require.Greater(t, recA[0].TransactionID, recB[0].TransactionID, "B holds the older transaction id")
	require.NoError(t, txB.Commit(ctx))

	require.Eventually(t, func() bool { return c.has(recB[0].EventID) }, deliveryTimeout, tick, "B is published while A is open")
	require.Eventually(t, func() bool {
		txid, position := f.checkpointOf(t, outbox.DefaultName)
		return txid == recB[0].TransactionID && position == recB[0].Position
	}, deliveryTimeout, tick, "the checkpoint is B's")
	require.Greater(t, recB[0].Position, recA[0].Position, "the checkpoint has passed A's position")
	require.False(t, c.has(recA[0].EventID), "A is not published before it commits")

	require.NoError(t, txA.Commit(ctx))
	require.Eventually(t, func() bool { return c.has(recA[0].EventID) }, deliveryTimeout, tick, "A is published once it commits, not skipped")
	got := f.requireAllDelivered(t, c)
	require.Equal(t, []string{recB[0].EventID.String(), recA[0].EventID.String()}, []string{got[0].uuid, got[1].uuid})
}

// The other order: A is older in both transaction id and position and stays
// open while B commits. B must wait for A (publishing it first would break
// commit order, and its checkpoint would pass A), and both follow in
// order once A commits.
func TestRelayHoldsBackNewerEventsWhileAnOlderTransactionIsOpen(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	ctx := t.Context()
	relay := f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)
	idA, idB := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8]

	txA, err := f.env.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = txA.Rollback(context.Background()) }()
	recA, err := f.store.Append(ctx, txA, idA, "Product", 0, eventstore.Metadata{}, messages.ProductCreated{ProductID: idA, SKU: "A"})
	require.NoError(t, err)
	require.NoError(t, f.appendEvents(ctx, idB, 1))

	// The relay has seen B committed and waiting: that is what lag reports.
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_lag_seconds") > 0 }, deliveryTimeout, tick)
	require.Zero(t, relay.published(t), "B is held back while the older A is open")

	require.NoError(t, txA.Commit(ctx))
	got := f.requireAllDelivered(t, c)
	require.Equal(t, recA[0].EventID.String(), got[0].uuid, "A first: it committed later but is older")
	require.Equal(t, idB, got[1].env.StreamID)
}

// An older transaction that rolls back publishes nothing but releases the
// newer events it held back: the relay, re-polling while events are held,
// must publish them (and nothing of the rolled-back transaction).
func TestRelayRepollsWhenTheOlderTransactionRollsBack(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	ctx := t.Context()
	relay := f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)
	idA, idB := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8]

	txA, err := f.env.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = f.store.Append(ctx, txA, idA, "Product", 0, eventstore.Metadata{}, messages.ProductCreated{ProductID: idA, SKU: "A"})
	require.NoError(t, err)
	require.NoError(t, f.appendEvents(ctx, idB, 1))
	require.Eventually(t, func() bool { return relay.metric(t, "orderflow_relay_lag_seconds") > 0 }, deliveryTimeout, tick)

	require.NoError(t, txA.Rollback(ctx))
	got := f.requireAllDelivered(t, c)
	require.Len(t, got, 1)
	require.Equal(t, idB, got[0].env.StreamID)
}

// An idle relay has backed off to its poll interval and still publishes a
// new event promptly: within the poll interval plus a read and a produce,
// with generous slack for a loaded machine, and far within deliveryTimeout.
func TestIdleRelayPublishesWithinItsPollInterval(t *testing.T) {
	t.Parallel()
	f := setup(t, 2)
	ctx := t.Context()
	cfg := f.testConfig() // PollInterval 200 ms
	f.startRelay(t, cfg, nil)
	c := f.consume(t)

	require.NoError(t, f.appendEvents(ctx, "product-first-"+uuid.NewString()[:8], 1))
	f.requireAllDelivered(t, c)
	time.Sleep(4 * cfg.PollInterval) // empty reads back the relay off to PollInterval
	start := time.Now()
	require.NoError(t, f.appendEvents(ctx, "product-second-"+uuid.NewString()[:8], 2))
	f.requireAllDelivered(t, c)
	require.Less(t, time.Since(start), cfg.PollInterval+5*time.Second, "an idle relay must publish within about its poll interval")
}

// Publishing fails a few times: the relay retries the same events, in
// order, and skips none.
func TestRelayRetriesFailedPublishesWithoutSkipping(t *testing.T) {
	t.Parallel()
	f := setup(t, 2)
	ctx := t.Context()
	streams := streamIDs(3)
	for _, id := range streams {
		require.NoError(t, f.appendEvents(ctx, id, 3))
	}
	cfg := f.testConfig()
	cfg.BatchSize = 4
	relay := f.startRelay(t, cfg, &testPublisher{failFirst: 3})
	c := f.consume(t)
	for _, id := range streams {
		require.NoError(t, f.appendEvents(ctx, id, 2))
	}

	f.requireAllDelivered(t, c)
	require.Equal(t, 3.0, relay.metric(t, "orderflow_relay_publish_errors_total"))
}

// A second instance of the same relay stays passive while the first holds
// the lock, and takes over (from the checkpoint) when the first stops.
func TestStandbyRelayTakesOverWhenTheActiveOneStops(t *testing.T) {
	t.Parallel()
	f := setup(t, 2)
	ctx := t.Context()
	first := f.startRelay(t, f.testConfig(), nil)
	require.Eventually(t, func() bool { return first.active(t) }, deliveryTimeout, tick)
	second := f.startRelay(t, f.testConfig(), nil)
	c := f.consume(t)

	streams := streamIDs(4)
	for _, id := range streams {
		require.NoError(t, f.appendEvents(ctx, id, 2))
	}
	published := len(f.requireAllDelivered(t, c))
	require.True(t, first.active(t))
	require.False(t, second.active(t), "the standby does not take the lock")
	require.Zero(t, second.published(t), "the standby publishes nothing")
	require.Eventually(t, func() bool { return first.published(t) == published }, deliveryTimeout, tick)

	first.stop(t)
	require.False(t, first.active(t))
	require.Eventually(t, func() bool { return second.active(t) }, deliveryTimeout, tick, "the standby takes over")
	for _, id := range streams {
		require.NoError(t, f.appendEvents(ctx, id, 2))
	}
	total := len(f.requireAllDelivered(t, c))
	require.Eventually(t, func() bool { return second.published(t) == total-published }, deliveryTimeout, tick,
		"the standby resumes from the checkpoint")
	require.Len(t, c.all(), total, "a graceful hand-over publishes nothing twice")
}

// Relays die while writers keep appending: once when the active relay's
// session is killed right after it published a batch (before its
// checkpoint), once when its process stops. Another instance finishes the
// job: every event arrives, some twice, none out of order after dedupe.
func TestRelayCrashLosesNothing(t *testing.T) {
	t.Parallel()
	f := setup(t, 4)
	cfg := f.testConfig()
	cfg.BatchSize = 10

	var killed atomic.Bool
	killSession := &testPublisher{afterPublish: func(call int, _ []eventstore.Record) {
		if call == 3 && killed.CompareAndSwap(false, true) {
			// The batch is in Kafka; its checkpoint is not written yet.
			_, err := f.env.Pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid, 10000) FROM pg_locks
				WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
			if err != nil {
				t.Errorf("terminate relay session: %v", err)
			}
		}
	}}
	first := f.startRelay(t, cfg, killSession)
	require.Eventually(t, func() bool { return first.active(t) }, deliveryTimeout, tick)
	second := f.startRelay(t, cfg, nil)
	c := f.consume(t)

	stop := make(chan struct{})
	writers := f.appendLoad(t, 3, 1000, streamIDs(30), stop)
	require.Eventually(t, killed.Load, deliveryTimeout, tick, "the first relay's session is killed mid-batch")
	require.Eventually(t, func() bool { return first.published(t)+second.published(t) >= 100 }, deliveryTimeout, tick)

	// Now stop whichever instance is active; the other one takes over.
	active, standby := first, second
	if second.active(t) {
		active, standby = second, first
	}
	before := standby.published(t)
	active.stop(t)
	require.Eventually(t, func() bool { return standby.published(t) > before+30 }, deliveryTimeout, tick)
	close(stop)
	writers.Wait()

	got := f.requireAllDelivered(t, c)
	require.Greater(t, len(c.all()), len(got), "the killed batch was published again (at least once)")
}

// The checkpoint of a published batch travels with the next read, so a
// relay whose session dies right after a publish has stored the
// checkpoint of the batch before it, and no further: restarted, it
// publishes that one batch again, nothing earlier, and loses nothing.
func TestRelayRestartedBeforeItsCheckpointRepublishesOnlyTheUnsavedBatch(t *testing.T) {
	t.Parallel()
	f := setup(t, 2)
	ctx := t.Context()
	for _, id := range streamIDs(10) {
		require.NoError(t, f.appendEvents(ctx, id, 3))
		require.NoError(t, f.appendEvents(ctx, id, 3))
	}
	cfg := f.testConfig()
	cfg.BatchSize = 10

	var (
		mu           sync.Mutex
		second       eventstore.Record   // the last event of the second batch
		unsaved      []eventstore.Record // the third batch, published when the session dies
		storedAtKill [2]uint64           // the stored checkpoint then (transaction id, position)
	)
	pub := &testPublisher{afterPublish: func(call int, events []eventstore.Record) {
		mu.Lock()
		defer mu.Unlock()
		switch call {
		case 2:
			second = events[len(events)-1]
		case 3:
			unsaved = slices.Clone(events)
			txid, position := f.checkpointOf(t, "kafka")
			storedAtKill = [2]uint64{txid, uint64(position)}
			_, err := f.env.Pool.Exec(context.Background(), `SELECT pg_terminate_backend(pid, 10000) FROM pg_locks
				WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`)
			if err != nil {
				t.Errorf("terminate relay session: %v", err)
			}
		}
	}}
	c := f.consume(t)
	f.startRelay(t, cfg, pub)
	got := f.requireAllDelivered(t, c)
	require.Len(t, got, 60)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, unsaved, cfg.BatchSize, "the session died after the third batch")
	require.Equal(t, [2]uint64{second.TransactionID, uint64(second.Position)}, storedAtKill,
		"the second batch's checkpoint was stored with the third read, the third's not yet")
	deliveries := map[string]int{}
	for _, d := range c.all() {
		deliveries[d.uuid]++
	}
	var again []string
	for id, n := range deliveries {
		require.LessOrEqual(t, n, 2, "event %s", id)
		if n == 2 {
			again = append(again, id)
		}
	}
	var want []string
	for _, e := range unsaved {
		want = append(want, e.EventID.String())
	}
	require.ElementsMatch(t, want, again, "exactly the unsaved batch is published again")
}

// A relay that published everything stores its last checkpoint with its
// next (empty) read and then, idle, writes it no more.
func TestIdleRelayDoesNotRewriteItsCheckpoint(t *testing.T) {
	t.Parallel()
	f := setup(t, 1)
	ctx := t.Context()
	_, err := f.env.Pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`)
	require.NoError(t, err)
	for _, id := range streamIDs(3) {
		require.NoError(t, f.appendEvents(ctx, id, 3))
	}
	c := f.consume(t)
	cfg := f.testConfig()
	cfg.BatchSize = 4
	f.startRelay(t, cfg, nil)
	f.requireAllDelivered(t, c)

	stored, err := f.store.ReadAll(ctx, 0, 1_000_000)
	require.NoError(t, err)
	last := slices.MaxFunc(stored, func(a, b eventstore.Record) int {
		if a.TransactionID != b.TransactionID {
			return cmp.Compare(a.TransactionID, b.TransactionID)
		}
		return cmp.Compare(a.Position, b.Position)
	})
	require.Eventually(t, func() bool {
		txid, position := f.checkpointOf(t, "kafka")
		return txid == last.TransactionID && position == last.Position
	}, deliveryTimeout, tick, "the last batch's checkpoint is stored with the next read")

	writes := func() int64 {
		var n int64
		require.NoError(t, f.env.Pool.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
			WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND query LIKE 'INSERT INTO "inventory"."relay_checkpoints"%'`).Scan(&n))
		return n
	}
	before := writes()
	require.Positive(t, before, "pg_stat_statements counts the checkpoint writes")
	time.Sleep(5 * cfg.PollInterval)
	require.Equal(t, before, writes(), "an idle relay writes no checkpoint")
}

func TestNewRejectsAnInvalidConfig(t *testing.T) {
	t.Parallel()
	_, err := outbox.New(nil, nil, outbox.Config{Schema: "Inventory; DROP", BatchSize: -1, PollInterval: -time.Second}, nil, nil)
	require.Error(t, err)
	for _, want := range []string{"schema", "topic is empty", "batch size", "poll interval"} {
		require.ErrorContains(t, err, want)
	}
}
