package consumer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
)

// keyedHandler is a handler that records what it handled per key, fails the
// payloads in failing (transiently) and in poison (permanently).
type keyedHandler struct {
	mu      sync.Mutex
	done    map[string][]string
	failing map[string]bool
	poison  map[string]bool
	tries   map[string]int
}

func newKeyedHandler() *keyedHandler {
	return &keyedHandler{done: map[string][]string{}, failing: map[string]bool{}, poison: map[string]bool{}, tries: map[string]int{}}
}

func (k *keyedHandler) handle(_ context.Context, batch []consumer.Message) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, m := range batch {
		p := string(m.Payload)
		if k.failing[p] {
			k.tries[p]++
			return errors.New("database hiccup")
		}
		if k.poison[p] {
			k.tries[p]++
			return deadletter.Permanentf("%s can never be handled", p)
		}
	}
	for _, m := range batch {
		k.done[m.Key] = append(k.done[m.Key], string(m.Payload))
	}
	return nil
}

func (k *keyedHandler) of(key string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.done[key])
}

func (k *keyedHandler) set(f func(k *keyedHandler)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f(k)
}

type dlSetup struct {
	env   *testenv.Env
	topic string
	store *deadletter.Store
	pub   message.Publisher
}

func setupDeadLetters(t *testing.T, levels ...time.Duration) dlSetup {
	env := testenv.New(t)
	topic := env.Config.Topic("consumer.dl")
	require.NoError(t, kafka.EnsureTopics(env.Config.KafkaBrokers, 2, topic))
	pub, err := kafka.NewPublisher(env.Config.KafkaBrokers, "consumer-dl-test", watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	return dlSetup{env: env, topic: topic, store: deadletter.NewStore(env.Pool, env.Config.Namespace, levels), pub: pub}
}

func (s dlSetup) publish(t *testing.T, key string, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		m := message.NewMessage(watermill.NewUUID(), []byte(p))
		if p == "" {
			m.UUID = "" // a record no handler could recognise again
			m.Payload = []byte("{not a message")
		}
		m.Metadata.Set(kafka.PartitionKeyHeader, key)
		m.Metadata.Set("name", "Test"+strings.ToUpper(key))
		require.NoError(t, s.pub.Publish(s.topic, m))
	}
}

// runDL starts a consumer with dead letters and returns its stop function.
func (s dlSetup) run(t *testing.T, name string, h consumer.Handler) (stop func()) {
	t.Helper()
	c, err := consumer.New(consumer.Config{
		Name: name, Group: s.env.Config.ConsumerGroup(name), Topics: []string{s.topic}, Brokers: s.env.Config.KafkaBrokers,
		RetryInitial: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: s.env.Logger,
		DeadLetters: &consumer.DeadLetters{Store: s.store, InPlaceRetries: 2, PollInterval: 20 * time.Millisecond},
	}, h)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = c.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func (s dlSetup) entries(t *testing.T, f deadletter.Filter) []deadletter.Entry {
	t.Helper()
	page, err := s.store.List(context.Background(), f, 100, 0)
	require.NoError(t, err)
	slices.Reverse(page.Entries) // oldest first
	return page.Entries
}

func statuses(es []deadletter.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Status)+"/"+string(e.Class))
	}
	return out
}

func TestPoisonMessagesParkTheirAggregateWhileOthersFlowThenReplayInOrder(t *testing.T) {
	t.Parallel()
	s := setupDeadLetters(t, 30*time.Millisecond, 60*time.Millisecond)
	ctx := context.Background()
	h := newKeyedHandler()
	h.set(func(k *keyedHandler) { k.failing["a1"] = true; k.poison["p1"] = true })

	s.publish(t, "a", "a1", "a2", "a3")
	s.publish(t, "b", "b1", "b2", "b3")
	s.publish(t, "c", "", "c2")
	s.publish(t, "p", "p1", "p2")
	s.run(t, "dl.test", h.handle)

	require.Eventually(t, func() bool { return len(h.of("b")) == 3 }, 60*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"b1", "b2", "b3"}, h.of("b"), "other aggregates flow, in order")

	// a1 fails every time: in place, then through both levels, then dead;
	// a2 and a3 wait behind it.
	require.Eventually(t, func() bool {
		es := s.entries(t, deadletter.Filter{AggregateID: "a"})
		return slices.Equal(statuses(es), []string{"dead/transient", "parked/waiting", "parked/waiting"})
	}, 30*time.Second, 20*time.Millisecond)
	head := s.entries(t, deadletter.Filter{AggregateID: "a"})[0]
	require.Equal(t, 1+2+2, head.Attempts, "the first try and two in place, then two levels")
	require.Equal(t, "database hiccup", head.Error)
	require.Equal(t, "dl.test", head.Handler)
	require.Equal(t, "TestA", head.Type)
	require.Empty(t, h.of("a"), "nothing of a overtakes its failing head")

	// An undecodable record and a permanent failure are dead at once.
	require.Eventually(t, func() bool {
		return slices.Equal(statuses(s.entries(t, deadletter.Filter{AggregateID: "c"})), []string{"dead/permanent", "parked/waiting"}) &&
			slices.Equal(statuses(s.entries(t, deadletter.Filter{AggregateID: "p"})), []string{"dead/permanent", "parked/waiting"})
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, 1, s.entries(t, deadletter.Filter{AggregateID: "p"})[0].Attempts, "a permanent error is not retried")
	page, err := s.store.List(ctx, deadletter.Filter{Status: deadletter.StatusDead}, 10, 0)
	require.NoError(t, err)
	require.Equal(t, 3, page.Total)
	require.ElementsMatch(t, []deadletter.Count{{Handler: "dl.test", Class: deadletter.Transient, Count: 1}, {Handler: "dl.test", Class: deadletter.Permanent, Count: 2}}, page.Counts)

	// More messages of a park behind too, the partition keeps moving.
	s.publish(t, "a", "a4")
	s.publish(t, "b", "b4")
	require.Eventually(t, func() bool { return len(h.of("b")) == 4 }, 30*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(s.entries(t, deadletter.Filter{AggregateID: "a"})) == 4 }, 30*time.Second, 10*time.Millisecond)

	// The cause is fixed; the operator replays a: all of it, in order.
	h.set(func(k *keyedHandler) { k.failing["a1"] = false })
	changed, err := s.store.Replay(ctx, nil, "a", "ops@example.com")
	require.NoError(t, err)
	require.Len(t, changed, 4)
	require.Eventually(t, func() bool { return len(h.of("a")) == 4 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"a1", "a2", "a3", "a4"}, h.of("a"))
	// The handler ran; the scheduler records each entry replayed after it.
	require.Eventually(t, func() bool {
		for _, e := range s.entries(t, deadletter.Filter{AggregateID: "a"}) {
			if e.Status != deadletter.StatusReplayed {
				return false
			}
		}
		return true
	}, 30*time.Second, 10*time.Millisecond, "every replayed entry is marked replayed")
	got, err := s.store.Get(ctx, head.ID)
	require.NoError(t, err)
	var trail []string
	for _, a := range got.Actions {
		trail = append(trail, a.Action+"/"+a.Actor)
	}
	require.Equal(t, []string{"parked/scheduler", "retry_failed/scheduler", "dead/scheduler", "replay_requested/ops@example.com", "replayed/scheduler"}, trail)

	// The undecodable record is discarded; what waited behind it follows.
	dead := s.entries(t, deadletter.Filter{AggregateID: "c"})[0]
	require.Error(t, s.store.Discard(ctx, dead.ID, " ", "ops@example.com"), "a discard needs a reason")
	require.NoError(t, s.store.Discard(ctx, dead.ID, "garbage from a test producer", "ops@example.com"))
	require.Eventually(t, func() bool { return slices.Equal(h.of("c"), []string{"c2"}) }, 30*time.Second, 10*time.Millisecond)
	require.Error(t, s.store.Discard(ctx, dead.ID, "again", "ops@example.com"), "only open entries are discarded")
}
