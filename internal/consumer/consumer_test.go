package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
)

// recorder is a handler that remembers what it committed and fails every
// batch holding a poisoned message while poisoned.
type recorder struct {
	mu       sync.Mutex
	done     []string
	batches  []int
	attempts map[string]int
	poison   string
	poisoned bool
}

func (r *recorder) handle(_ context.Context, batch []consumer.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, len(batch))
	for _, m := range batch {
		if string(m.Payload) == r.poison {
			r.attempts[r.poison]++
			if r.poisoned {
				return errors.New("poisoned")
			}
		}
	}
	for _, m := range batch {
		r.done = append(r.done, string(m.Payload))
	}
	return nil
}

func (r *recorder) snapshot() (done []string, batches []int, attempts int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.done), slices.Clone(r.batches), r.attempts[r.poison]
}

func (r *recorder) cure() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.poisoned = false
}

func payloads(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("m%02d", i))
	}
	return out
}

// newTopic creates the test's topic name (namespaced) with partitions and
// returns it, the consumer group of the same name and a publisher closed
// with the test.
func newTopic(t *testing.T, env *testenv.Env, name string, partitions int32) (topic, group string, pub *wmkafka.Publisher) {
	t.Helper()
	topic, group = env.Config.Topic(name), env.Config.ConsumerGroup(name)
	require.NoError(t, kafka.EnsureTopics(env.Config.KafkaBrokers, partitions, topic))
	pub, err := kafka.NewPublisher(env.Config.KafkaBrokers, "consumer-test", watermill.NopLogger{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pub.Close() })
	return topic, group, pub
}

// run starts a consumer of group on topic and returns its stop function.
func run(t *testing.T, env *testenv.Env, group, topic string, h consumer.Handler) (stop func()) {
	t.Helper()
	return runWith(t, env, consumer.Config{
		Name: "test", Group: group, Topics: []string{topic}, Brokers: env.Config.KafkaBrokers,
		MaxBatch: 50, RetryInitial: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: env.Logger,
	}, h)
}

// runWith starts a consumer of cfg and returns its stop function.
func runWith(t *testing.T, env *testenv.Env, cfg consumer.Config, h consumer.Handler) (stop func()) {
	t.Helper()
	c, err := consumer.New(cfg, h)
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

func TestFailingMessageIsIsolatedAndTheOthersCommit(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	topic, group, pub := newTopic(t, env, "consumer.test", 1)
	all := payloads(0, 30)
	var msgs []*message.Message
	for _, p := range all {
		m := message.NewMessage(watermill.NewUUID(), []byte(p))
		m.Metadata.Set(kafka.PartitionKeyHeader, "one-aggregate")
		msgs = append(msgs, m)
	}
	// Published before anyone consumes: the first batch holds them all.
	require.NoError(t, pub.Publish(topic, msgs...))

	rec := &recorder{attempts: map[string]int{}, poison: "m17", poisoned: true}
	stop := run(t, env, group, topic, rec.handle)

	require.Eventually(t, func() bool {
		done, _, attempts := rec.snapshot()
		return attempts >= 5 && len(done) == 17
	}, 60*time.Second, 10*time.Millisecond, "the messages before the poisoned one commit while it is retried")
	done, batches, _ := rec.snapshot()
	require.Equal(t, payloads(0, 17), done, "exactly the messages before it, in order, once each")
	require.Greater(t, slices.Max(batches), 1, "ready messages come in batches")
	stop()

	// The offsets before the poisoned message were committed: a new
	// consumer of the group starts at it, and once it is cured, everything
	// after it follows in order.
	rec2 := &recorder{attempts: map[string]int{}, poison: "m17", poisoned: true}
	run(t, env, group, topic, rec2.handle)
	require.Eventually(t, func() bool {
		_, _, attempts := rec2.snapshot()
		return attempts >= 2
	}, 60*time.Second, 10*time.Millisecond, "the restarted consumer starts at the poisoned message")
	rec2.cure()
	require.Eventually(t, func() bool {
		done, _, _ := rec2.snapshot()
		return len(done) == 13
	}, 60*time.Second, 10*time.Millisecond)
	done, _, _ = rec2.snapshot()
	require.Equal(t, payloads(17, 30), done, "from the poisoned message on, in order, once each")
}

func TestUndecodableRecordIsSkipped(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	topic, group := env.Config.Topic("consumer.raw"), env.Config.ConsumerGroup("consumer.raw")
	require.NoError(t, kafka.EnsureTopics(env.Config.KafkaBrokers, 1, topic))

	// A record without watermill's headers (no message id) cannot be
	// decoded; the one after it still arrives.
	raw, err := sarama.NewSyncProducer(env.Config.KafkaBrokers, kafka.SaramaConfig("consumer-test"))
	require.NoError(t, err)
	defer raw.Close()
	_, _, err = raw.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("k"), Value: sarama.StringEncoder("garbage")})
	require.NoError(t, err)
	pub, err := kafka.NewPublisher(env.Config.KafkaBrokers, "consumer-test", watermill.NopLogger{})
	require.NoError(t, err)
	defer pub.Close()
	m := message.NewMessage(watermill.NewUUID(), []byte("m00"))
	m.Metadata.Set(kafka.PartitionKeyHeader, "k")
	require.NoError(t, pub.Publish(topic, m))

	rec := &recorder{attempts: map[string]int{}}
	run(t, env, group, topic, rec.handle)
	require.Eventually(t, func() bool {
		done, _, _ := rec.snapshot()
		return slices.Equal(done, []string{"m00"})
	}, 60*time.Second, 10*time.Millisecond)
}

func TestPanickingHandlerIsRetriedNotFatal(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	topic, group, pub := newTopic(t, env, "consumer.panic", 1)
	m := message.NewMessage(watermill.NewUUID(), []byte("m00"))
	m.Metadata.Set(kafka.PartitionKeyHeader, "k")
	require.NoError(t, pub.Publish(topic, m))

	var mu sync.Mutex
	calls := 0
	run(t, env, group, topic, func(context.Context, []consumer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls < 3 {
			panic("boom")
		}
		return nil
	})
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls == 3
	}, 60*time.Second, 10*time.Millisecond, "the panic is an error: the message is retried and the process lives on")
}

// A consumer stopped while a batch is being handled lets the batch finish
// (its context is not cancelled for Config.Drain) and commits its offsets
// as it leaves: the consumer that takes the partition over does not get
// the batch again.
func TestStopFinishesTheBatchInHandAndCommitsIt(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	topic, group, pub := newTopic(t, env, "consumer.drain", 1)
	publish := func(payloads ...string) {
		for _, p := range payloads {
			m := message.NewMessage(watermill.NewUUID(), []byte(p))
			m.Metadata.Set(kafka.PartitionKeyHeader, "one-aggregate")
			require.NoError(t, pub.Publish(topic, m))
		}
	}
	publish(payloads(0, 5)...)

	inHand, release := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var first []string
	var handlerErr error
	stop := run(t, env, group, topic, func(ctx context.Context, batch []consumer.Message) error {
		select {
		case <-inHand:
		default:
			close(inHand)
		}
		<-release
		// The stop came while this batch was in hand: its work goes on.
		time.Sleep(100 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		if err := ctx.Err(); err != nil {
			handlerErr = err
			return err
		}
		for _, m := range batch {
			first = append(first, string(m.Payload))
		}
		return nil
	})
	<-inHand
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	time.Sleep(200 * time.Millisecond) // the stop is under way
	close(release)
	<-stopped
	mu.Lock()
	require.NoError(t, handlerErr, "the batch in hand was not cancelled by the stop")
	handled := slices.Clone(first)
	mu.Unlock()
	require.NotEmpty(t, handled)

	publish("after")
	rec := &recorder{attempts: map[string]int{}}
	run(t, env, group, topic, rec.handle)
	want := append(slices.Clone(payloads(0, 5)[len(handled):]), "after")
	require.Eventually(t, func() bool {
		done, _, _ := rec.snapshot()
		return len(done) >= len(want)
	}, 30*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	done, _, _ := rec.snapshot()
	require.Equal(t, want, done, "the next consumer starts after what the stopped one finished")
}

// With Combine, the batches of several partitions go in one call, each
// partition's in offset order; a combined call that fails is tried again
// one partition at a time, so only the failing message's partition waits
// for it while every other message commits, once.
func TestCombinedPartitionsKeepKeyOrderAndIsolateAFailure(t *testing.T) {
	t.Parallel()
	for _, parallel := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d at once", parallel), func(t *testing.T) {
			t.Parallel()
			testCombined(t, parallel)
		})
	}
}

func testCombined(t *testing.T, parallel int) {
	env := testenv.New(t)
	topic, group, pub := newTopic(t, env, "consumer.combine", 8)

	// 8 keys, 5 messages each: "k3/2" is key k3's third message.
	const keys, perKey = 8, 5
	var msgs []*message.Message
	for i := range perKey {
		for k := range keys {
			m := message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, "k%d/%d", k, i))
			m.Metadata.Set(kafka.PartitionKeyHeader, fmt.Sprintf("k%d", k))
			msgs = append(msgs, m)
		}
	}
	// Last in its partition, so that only it waits.
	poison := message.NewMessage(watermill.NewUUID(), []byte("poison"))
	poison.Metadata.Set(kafka.PartitionKeyHeader, "k5")
	require.NoError(t, pub.Publish(topic, append(msgs, poison)...))

	var mu sync.Mutex
	done := map[string][]string{} // by key, in the order committed
	poisoned := true
	poisonAttempts, widest := 0, 0
	calls, running, atOnce := 0, 0, 0
	runWith(t, env, consumer.Config{
		Name: "test", Group: group, Topics: []string{topic}, Brokers: env.Config.KafkaBrokers, MaxBatch: 50,
		RetryInitial: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: env.Logger,
		Combine: true, CombineParallel: parallel,
	}, func(_ context.Context, batch []consumer.Message) error {
		mu.Lock()
		calls++
		running++
		atOnce = max(atOnce, running)
		first := calls <= parallel
		mu.Unlock()
		if first {
			// The other partitions queue up behind these calls.
			time.Sleep(300 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		running--
		partitions := map[int32]int64{}
		for _, m := range batch {
			if last, ok := partitions[m.Partition]; ok && m.Offset <= last {
				return fmt.Errorf("partition %d out of order in a batch: %d after %d", m.Partition, m.Offset, last)
			}
			partitions[m.Partition] = m.Offset
		}
		widest = max(widest, len(partitions))
		for _, m := range batch {
			if string(m.Payload) == "poison" {
				poisonAttempts++
				if poisoned {
					return errors.New("poisoned")
				}
			}
		}
		for _, m := range batch {
			done[m.Key] = append(done[m.Key], string(m.Payload))
		}
		return nil
	})

	committed := func() (n int) {
		mu.Lock()
		defer mu.Unlock()
		for _, ms := range done {
			n += len(ms)
		}
		return n
	}
	require.Eventually(t, func() bool { return committed() == keys*perKey && poisonAttempts >= 3 }, 60*time.Second, 10*time.Millisecond,
		"everything but the poisoned message commits while it is retried")
	mu.Lock()
	require.Greater(t, widest, 1, "a call carried several partitions' batches")
	require.LessOrEqual(t, atOnce, parallel, "at most CombineParallel calls at once")
	poisoned = false
	mu.Unlock()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(done["k5"]) == perKey+1
	}, 60*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for k := range keys {
		var want []string
		for i := range perKey {
			want = append(want, fmt.Sprintf("k%d/%d", k, i))
		}
		if k == 5 {
			want = append(want, "poison")
		}
		require.Equal(t, want, done[fmt.Sprintf("k%d", k)], "key k%d: every message once, in order", k)
	}
}
