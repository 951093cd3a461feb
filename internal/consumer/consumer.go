// Package consumer is the one loop through which orderflow reads Kafka in
// a consumer group: the command handlers, the order saga and the
// projectors all hand it a batch handler and get the same guarantees.
//
//   - Batches. Whatever a partition has ready (up to MaxBatch records) is
//     handed over at once, in offset order, so a handler can do one
//     database transaction or one bulk request for many messages. With
//     Config.Combine the batches several partitions have ready at the
//     same moment go in one call (each partition's in offset order).
//   - Offsets after effects. A partition's offset is marked only once the
//     handler returned nil for the records up to it; a crash in between
//     redelivers them, so handlers must be idempotent (the command inbox,
//     the saga's processed events, external versions in Elasticsearch).
//   - One failure does not fail the others. A failing batch is split in
//     halves, handled in order, down to the one message that fails; the
//     messages before it are committed.
//   - A failing message does not stall its partition (with DeadLetters):
//     it is retried in place a few times, then parked in the dead-letter
//     store with every later message of its aggregate behind it, and the
//     partition moves on; the consumer's scheduler retries it later
//     through the same handler (see DeadLetters). Without DeadLetters it
//     is retried alone with a growing backoff, holding the partition.
//
// Records that cannot be decoded into a watermill message with a message
// id are dead letters of class permanent (with DeadLetters; without, they
// are logged, counted and skipped).
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/pause"
)

// Message is one consumed record, decoded.
type Message struct {
	// Message is the watermill message: UUID, metadata and payload.
	*message.Message
	Topic     string
	Partition int32
	Offset    int64
	// Key is the record key: the aggregate id the record is partitioned by.
	Key string
	// Timestamp is the record's timestamp (the producer's send time).
	Timestamp time.Time
}

// Handler handles one batch of messages, each partition's in offset order
// (one partition's, or with Config.Combine several partitions').
// Returning nil means every effect of every message is durable; an error
// means none of them need be (the batch is split and handled again, so
// each message must be idempotent). ctx ends when the partition is taken
// away or the consumer stops.
type Handler func(ctx context.Context, batch []Message) error

// Config is one consumer: a consumer group reading topics.
type Config struct {
	// Name is the handler's stable name, for logs and metrics.
	Name string
	// Group is the (namespaced) consumer group; a new group starts at the
	// oldest offset.
	Group string
	// Topics are the (namespaced) topics read.
	Topics   []string
	Brokers  []string
	ClientID string
	// MaxBatch bounds the messages of one batch. Default 100.
	MaxBatch int
	// RetryInitial and RetryMax bound the backoff between attempts of a
	// message that fails alone. Defaults 20 ms and 5 s.
	RetryInitial, RetryMax time.Duration
	// DeadLetters, when set, parks what fails instead of holding the
	// partition until it passes.
	DeadLetters *DeadLetters
	// Metrics, when set, records message age, handling time, splits,
	// retries and undecodable records under Name.
	Metrics *Metrics
	// Drain is how long an attempt begun may still run once the consumer
	// stops or its partitions are revoked: the batch is finished and its
	// offsets committed instead of abandoned halfway (and handled again by
	// whoever takes the partition over). Default 5 s; keep it below the
	// process's shutdown timeout.
	Drain time.Duration
	// FetchWait, when set, lets the broker hold a fetch until this long
	// has passed or a good amount of data is ready, instead of answering
	// as soon as one record is: fewer, fuller fetches for a consumer that
	// can wait (the projectors), at the price of up to FetchWait more
	// latency per record. Zero: answered at once.
	FetchWait time.Duration
	// Combine joins the batches several partitions have ready at once
	// into one handler call (see combiner), so the handler gets
	// messages of several partitions, each partition's in offset order;
	// CombineLinger lets the first wait that long for others. Without
	// Combine every partition's batch is a call of its own, and the
	// partitions' calls run concurrently.
	Combine       bool
	CombineLinger time.Duration
	// CombineParallel bounds the combined calls running at once (default
	// 1): with more, a handler whose calls wait on round trips (one
	// transaction's statements) keeps up under load.
	CombineParallel int
	Logger          *slog.Logger
}

func (c *Config) validate() error {
	switch {
	case c.Name == "" || c.Group == "":
		return errors.New("consumer needs a name and a consumer group")
	case len(c.Topics) == 0:
		return fmt.Errorf("consumer %s has no topics", c.Name)
	case len(c.Brokers) == 0:
		return fmt.Errorf("consumer %s has no brokers", c.Name)
	case c.Logger == nil:
		return fmt.Errorf("consumer %s has no logger", c.Name)
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 100
	}
	if c.RetryInitial <= 0 {
		c.RetryInitial = 20 * time.Millisecond
	}
	if c.RetryMax < c.RetryInitial {
		c.RetryMax = max(5*time.Second, c.RetryInitial)
	}
	if c.Metrics == nil {
		c.Metrics = newMetrics(nil)
	}
	if c.Drain <= 0 {
		c.Drain = 5 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = c.Name
	}
	if c.DeadLetters != nil {
		c.DeadLetters.validate()
	}
	return nil
}

// sarama is the client configuration of the consumer group.
func (c *Config) sarama() *sarama.Config {
	sc := kafka.SaramaConfig(c.ClientID)
	if c.FetchWait > 0 {
		sc.Consumer.Fetch.Min = fetchWaitMinBytes
		sc.Consumer.MaxWaitTime = c.FetchWait
	}
	return sc
}

// fetchWaitMinBytes is the data a fetch waits for under Config.FetchWait:
// far more than the records of one wait at orderflow's rates, so the
// wait, not the size, usually ends it.
const fetchWaitMinBytes = 256 << 10

// Consumer runs one handler over its topics.
type Consumer struct {
	cfg     Config
	handle  Handler
	group   sarama.ConsumerGroup
	running chan struct{}
	once    sync.Once
	// wake tells the dead-letter scheduler something was parked.
	wake chan struct{}
	// combine, with Config.Combine, joins the partitions' first attempts.
	combine *combiner
}

// New joins nothing yet: it connects the consumer group that Run consumes
// with.
func New(cfg Config, h Handler) (*Consumer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g, err := sarama.NewConsumerGroup(cfg.Brokers, cfg.Group, cfg.sarama())
	if err != nil {
		return nil, fmt.Errorf("consumer group %s: %w", cfg.Group, err)
	}
	c := &Consumer{cfg: cfg, handle: h, group: g, running: make(chan struct{}), wake: make(chan struct{}, 1)}
	if cfg.Combine {
		c.combine = &combiner{c: c, max: cfg.MaxBatch, linger: cfg.CombineLinger, parallel: max(cfg.CombineParallel, 1)}
	}
	return c, nil
}

// Running is closed once the group has joined and been assigned its
// partitions for the first time.
func (c *Consumer) Running() <-chan struct{} { return c.running }

// Run consumes until ctx ends, then leaves the group. An attempt running
// when ctx ends is given Config.Drain to finish, and its offsets are
// committed as the group is left; no new batch is begun. What does not
// finish in time is not marked, so whoever takes the partitions over
// handles it again.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.group.Close()
	var scheduler sync.WaitGroup
	if c.cfg.DeadLetters != nil {
		scheduler.Go(func() { c.runScheduler(ctx) })
	}
	defer scheduler.Wait()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for err := range c.group.Errors() {
			c.cfg.Logger.Error("kafka consumer error", "handler", c.cfg.Name, "error", err)
		}
	}()
	for ctx.Err() == nil {
		// Consume returns at every rebalance; join again.
		err := c.group.Consume(ctx, c.cfg.Topics, claimHandler{c})
		if err == nil || ctx.Err() != nil {
			continue
		}
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			break
		}
		c.cfg.Logger.Error("kafka consumer stopped, joining again", "handler", c.cfg.Name, "error", err)
		pause.For(ctx, time.Second)
	}
	_ = c.group.Close()
	<-done
	return nil
}

type claimHandler struct{ c *Consumer }

func (h claimHandler) Setup(sarama.ConsumerGroupSession) error {
	h.c.once.Do(func() { close(h.c.running) })
	return nil
}

func (claimHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h claimHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	c := h.c
	ctx := sess.Context()
	records := claim.Messages()
	unmarshaler := kafka.Marshaler()
	var gate blockGate
	for {
		batch, ok := nextBatch(ctx, records, c.cfg.MaxBatch)
		if !ok {
			return nil
		}
		start := time.Now()
		msgs := make([]Message, 0, len(batch))
		type bad struct {
			r   *sarama.ConsumerMessage
			err error
		}
		var undecodable []bad
		for _, r := range batch {
			c.cfg.Metrics.started(c.cfg.Name, r.Timestamp, start)
			m, err := unmarshaler.Unmarshal(r)
			if err == nil && m.UUID == "" {
				err = errors.New("record has no message id")
			}
			if err != nil {
				c.cfg.Metrics.undecodable.WithLabelValues(c.cfg.Name).Inc()
				if c.cfg.DeadLetters != nil {
					undecodable = append(undecodable, bad{r, err})
					msgs = append(msgs, Message{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key)})
					continue
				}
				c.cfg.Logger.Error("undecodable kafka record skipped", "handler", c.cfg.Name,
					"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "error", err)
				continue
			}
			m.SetContext(ctx)
			msgs = append(msgs, Message{Message: m, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Timestamp: r.Timestamp})
		}
		blocked, ok := c.blockedKeys(ctx, msgs, &gate)
		if !ok {
			return nil
		}
		if len(undecodable) > 0 {
			// Handled in offset order: the messages before an undecodable
			// one, it (dead at once), then on.
			i := 0
			for _, u := range undecodable {
				j := i
				for msgs[j].Message != nil {
					j++
				}
				if !c.handleSplitting(ctx, sess, msgs[i:j], blocked, c.attempt) || !c.undecodable(ctx, u.r, u.err, blocked) {
					return nil
				}
				i = j + 1
			}
			msgs = msgs[i:]
		}
		ok = c.handleSplitting(ctx, sess, msgs, blocked, c.firstAttempt())
		if len(blocked) > 0 {
			gate.mayBlock = true // this claim parked (or found) some
		}
		if !ok {
			return nil
		}
		sess.MarkMessage(batch[len(batch)-1], "")
	}
}

// nextBatch waits for one record, then takes whatever else is ready, up to
// max. ok is false once the claim ends.
func nextBatch(ctx context.Context, records <-chan *sarama.ConsumerMessage, max int) (batch []*sarama.ConsumerMessage, ok bool) {
	select {
	case r, open := <-records:
		if !open {
			return nil, false
		}
		batch = append(batch, r)
	case <-ctx.Done():
		return nil, false
	}
	for len(batch) < max {
		select {
		case r, open := <-records:
			if !open {
				return batch, true
			}
			batch = append(batch, r)
		default:
			return batch, true
		}
	}
	return batch, true
}

// handleSplitting handles msgs; on failure it handles each half in turn,
// marking the offsets of what succeeded, down to the single message that
// fails, which is retried alone (handleAlone: then parked). Messages of a
// blocked key are parked behind its open dead letter first. The first
// attempt is first's (firstAttempt), the others c.attempt. It reports
// false when ctx ended first (nothing after the last mark may be marked).
func (c *Consumer) handleSplitting(ctx context.Context, sess sarama.ConsumerGroupSession, msgs []Message, blocked map[string]bool, first func(context.Context, []Message) error) bool {
	msgs, ok := c.parkWaiting(ctx, msgs, blocked)
	if !ok {
		return false
	}
	if len(msgs) == 0 {
		return true
	}
	err := c.pauseWhileUnavailable(ctx, msgs, first(ctx, msgs))
	if err == nil {
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	if len(msgs) > 1 {
		c.cfg.Metrics.splits.WithLabelValues(c.cfg.Name).Inc()
		half := len(msgs) / 2
		if !c.handleSplitting(ctx, sess, msgs[:half], blocked, c.attempt) {
			return false
		}
		markMessage(sess, msgs[half-1])
		return c.handleSplitting(ctx, sess, msgs[half:], blocked, c.attempt)
	}
	if c.cfg.DeadLetters != nil {
		return c.handleAlone(ctx, msgs[0], err, blocked)
	}
	for wait := c.cfg.RetryInitial; ; wait = min(2*wait, c.cfg.RetryMax) {
		c.cfg.Metrics.retries.WithLabelValues(c.cfg.Name).Inc()
		if !pause.For(ctx, wait) {
			return false
		}
		err := c.attempt(ctx, msgs)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.cfg.Logger.Warn("message failed, retrying it", "handler", c.cfg.Name, "topic", msgs[0].Topic,
			"partition", msgs[0].Partition, "offset", msgs[0].Offset, "key", msgs[0].Key, "message_id", msgs[0].UUID,
			"retry_in", min(2*wait, c.cfg.RetryMax), "error", err)
	}
}

// firstAttempt is how a partition's batch is tried first: combined with
// the other partitions' (Config.Combine) or alone.
func (c *Consumer) firstAttempt() func(context.Context, []Message) error {
	if c.combine != nil {
		return c.combine.attempt
	}
	return c.attempt
}

// attempt runs the handler once, measured, in a context that outlives ctx
// by Config.Drain (see Run).
func (c *Consumer) attempt(ctx context.Context, msgs []Message) error {
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		select {
		case <-work.Done():
		case <-time.After(c.cfg.Drain):
			cancel()
		}
	})
	defer stop()
	start := time.Now()
	err := c.safely(work, msgs)
	c.cfg.Metrics.handled(c.cfg.Name, start, err)
	if err != nil && len(msgs) > 1 && ctx.Err() == nil {
		c.cfg.Logger.Info("batch failed, splitting it", "handler", c.cfg.Name, "topic", msgs[0].Topic,
			"partition", msgs[0].Partition, "first_offset", msgs[0].Offset, "messages", len(msgs), "error", err)
	}
	return err
}

// safely runs the handler, turning a panic into the batch's error: like
// any failure it is split down to the message that causes it, which is
// retried alone, and the process lives on.
func (c *Consumer) safely(ctx context.Context, msgs []Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return c.handle(ctx, msgs)
}

func markMessage(sess sarama.ConsumerGroupSession, m Message) {
	sess.MarkOffset(m.Topic, m.Partition, m.Offset+1, "")
}

// Metrics are the loop's own counters beside the per-message age and
// handling time of kafka.ConsumerMetrics; one per process, shared by its
// consumers.
type Metrics struct {
	messages                     *kafka.ConsumerMetrics
	undecodable, splits, retries *prometheus.CounterVec
	combined                     *prometheus.HistogramVec
}

// NewMetrics registers the loop's counters with reg; messages is the
// process's message age and handling time metrics.
func NewMetrics(reg prometheus.Registerer, messages *kafka.ConsumerMetrics) *Metrics {
	m := newMetrics(messages)
	reg.MustRegister(m.undecodable, m.splits, m.retries, m.combined)
	return m
}

// newMetrics returns unregistered metrics; messages may be nil.
func newMetrics(messages *kafka.ConsumerMetrics) *Metrics {
	return &Metrics{
		messages: messages,
		undecodable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_messages_undecodable_total",
			Help: "Kafka records a consumer could not decode and skipped.",
		}, []string{"handler"}),
		splits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_consumer_batch_splits_total",
			Help: "Failed batches split to isolate the failing message.",
		}, []string{"handler"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "orderflow_consumer_retries_total",
			Help: "Attempts of a message that failed alone, after the first.",
		}, []string{"handler"}),
		combined: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderflow_consumer_combined_partitions",
			Help:    "Partitions whose batches one handler call combined (calls of more than one).",
			Buckets: []float64{2, 3, 4, 6, 8, 12, 16, 24, 32},
		}, []string{"handler"}),
	}
}

func (m *Metrics) started(handler string, recordTime, now time.Time) {
	if m.messages != nil {
		m.messages.Started(handler, recordTime, now)
	}
}

func (m *Metrics) handled(handler string, start time.Time, err error) {
	if m.messages != nil {
		m.messages.Handled(handler, start, err)
	}
}
