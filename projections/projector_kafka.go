package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/messages"
)

// KafkaSource is where the live projector reads the event topics.
type KafkaSource struct {
	Brokers  []string
	ClientID string
	// Topic namespaces a base topic name, Group a consumer group name
	// (config.Config.Topic and ConsumerGroup).
	Topic, Group func(string) string
	// Metrics, when set, records message age and batch handling time per
	// projection (under the handler name).
	Metrics *kafka.ConsumerMetrics
}

// Consumer runs the live projectors: one consumer group per projection
// (the handler name constants; a new group starts at the oldest offset, so
// a fresh projector replays all history) on its context's event topic.
//
// Each partition is read in batches: whatever the partition has ready (up
// to MaxBatch) is submitted at once, and the partitions' batches meet in
// one batcher per projection, so one mget and one bulk request carry many
// events. The partition's offset is marked only once the whole batch is
// written (or found stale); a failing batch is retried, blocking its
// partition, until it is written or the consumer stops, and is then
// redelivered: nothing is skipped.
type Consumer struct {
	p       *Projector
	src     KafkaSource
	groups  map[Name]sarama.ConsumerGroup
	running chan struct{}
	joined  sync.WaitGroup
}

// NewConsumer connects one consumer group per projection.
func (p *Projector) NewConsumer(src KafkaSource) (*Consumer, error) {
	c := &Consumer{p: p, src: src, groups: map[Name]sarama.ConsumerGroup{}, running: make(chan struct{})}
	for _, n := range Names() {
		g, err := sarama.NewConsumerGroup(src.Brokers, src.Group(p.defs[n].handlerName), kafka.SaramaConfig(src.ClientID))
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("consumer group of projection %s: %w", n, err)
		}
		c.groups[n] = g
	}
	return c, nil
}

// Running is closed once every projection's group has joined and been
// assigned its partitions for the first time.
func (c *Consumer) Running() <-chan struct{} { return c.running }

// Close leaves the consumer groups.
func (c *Consumer) Close() {
	for _, g := range c.groups {
		_ = g.Close()
	}
}

// Run consumes until ctx ends, then leaves the groups.
func (c *Consumer) Run(ctx context.Context) error {
	defer c.Close()
	c.joined.Add(len(c.groups))
	go func() {
		c.joined.Wait()
		close(c.running)
	}()
	var wg sync.WaitGroup
	for n, g := range c.groups {
		d := c.p.defs[n]
		h := &claimHandler{c: c, n: n, handler: d.handlerName}
		topic := c.src.Topic(messages.EventsTopic(string(d.context)))
		wg.Add(2)
		go func() {
			defer wg.Done()
			for err := range g.Errors() {
				c.p.logger.Error("projector consumer error", "projection", n, "error", err)
			}
		}()
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// Consume returns at every rebalance; join again.
				if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
					if errors.Is(err, sarama.ErrClosedConsumerGroup) {
						return
					}
					c.p.logger.Error("projector consumer stopped, joining again", "projection", n, "error", err)
					sleepCtx(ctx, time.Second)
				}
			}
		}()
	}
	<-ctx.Done()
	c.Close()
	wg.Wait()
	return nil
}

type claimHandler struct {
	c       *Consumer
	n       Name
	handler string
	once    sync.Once
}

func (h *claimHandler) Setup(sarama.ConsumerGroupSession) error {
	h.once.Do(h.c.joined.Done)
	return nil
}

func (h *claimHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *claimHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	msgs := claim.Messages()
	unmarshaler := kafka.Marshaler()
	for {
		var batch []*sarama.ConsumerMessage
		select {
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			batch = append(batch, m)
		case <-ctx.Done():
			return nil
		}
	fill:
		for len(batch) < h.c.p.cfg.MaxBatch {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}

		start := time.Now()
		events := make([]Event, 0, len(batch))
		for _, m := range batch {
			if h.c.src.Metrics != nil {
				h.c.src.Metrics.Started(h.handler, m.Timestamp, start)
			}
			msg, err := unmarshaler.Unmarshal(m)
			var e Event
			if err == nil {
				e, err = EventFromMessage(msg)
			}
			if err != nil {
				// A record the projector cannot place is skipped, as the
				// saga does; if it belonged to a stream, the stream's next
				// event finds the gap and heals it from the event store.
				h.c.p.logger.Error("undecodable event skipped", "projection", h.n, "partition", m.Partition, "offset", m.Offset, "error", err)
				continue
			}
			events = append(events, e)
		}
		for wait := 20 * time.Millisecond; len(events) > 0; wait = min(2*wait, 5*time.Second) {
			attempt := time.Now()
			err := h.c.p.batcher(h.n).submit(ctx, events...)
			if h.c.src.Metrics != nil {
				h.c.src.Metrics.Handled(h.handler, attempt, err)
			}
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil // rebalanced or stopping: the batch is redelivered
			}
			h.c.p.logger.Warn("projection batch failed, retrying it", "projection", h.n, "partition", claim.Partition(),
				"first_offset", batch[0].Offset, "events", len(events), "retry_in", wait, "error", err)
			if !sleepCtx(ctx, wait) {
				return nil
			}
		}
		sess.MarkMessage(batch[len(batch)-1], "")
	}
}

// sleepCtx waits d or until ctx ends; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (p *Projector) batcher(n Name) *batcher {
	p.batchMu.Lock()
	defer p.batchMu.Unlock()
	b, ok := p.batchers[n]
	if !ok {
		b = &batcher{max: p.cfg.MaxBatch, linger: p.cfg.BatchLinger, flush: func(ctx context.Context, events []Event) (outcome, error) {
			return p.apply(ctx, n, events)
		}}
		p.batchers[n] = b
	}
	return b
}

// batcher groups events submitted concurrently (by the partitions'
// consumers) into one projection call. There is no goroutine of its own:
// the first submitter becomes the leader, lingers briefly, flushes
// whatever queued up, and hands the leadership to the next waiting
// submitter, if any. A submission is never split: a flush carries whole
// submissions up to max events (or one larger submission alone).
type batcher struct {
	max    int
	linger time.Duration
	flush  func(context.Context, []Event) (outcome, error)

	mu      sync.Mutex
	queue   []*batchRequest
	leading bool
}

type batchRequest struct {
	events []Event
	result chan error
	lead   chan struct{}
}

// submit projects events with whatever else is submitted meanwhile and
// returns the first failure among their streams.
func (b *batcher) submit(ctx context.Context, events ...Event) error {
	req := &batchRequest{events: events, result: make(chan error, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, req)
	if !b.leading {
		b.leading = true
		b.mu.Unlock()
		return b.run(ctx, req)
	}
	b.mu.Unlock()
	select {
	case err := <-req.result:
		return err
	case <-req.lead:
		return b.run(ctx, req)
	}
}

// run is the leader's turn: self is at the head of the queue.
func (b *batcher) run(ctx context.Context, self *batchRequest) error {
	if b.linger > 0 {
		b.mu.Lock()
		short := queued(b.queue) < b.max
		b.mu.Unlock()
		if short {
			t := time.NewTimer(b.linger)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
	b.mu.Lock()
	n, size := 0, 0
	for n < len(b.queue) && (n == 0 || size+len(b.queue[n].events) <= b.max) {
		size += len(b.queue[n].events)
		n++
	}
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	events := make([]Event, 0, size)
	for _, r := range batch {
		events = append(events, r.events...)
	}
	// The leader's message context may end (the router closing); the
	// others' events were handed over in good faith, so finish the batch.
	out, err := b.flush(context.WithoutCancel(ctx), events)

	var mine error
	for _, r := range batch {
		res := err
		for _, e := range r.events {
			if res != nil {
				break
			}
			res = out.failed[e.StreamID]
		}
		if r == self {
			mine = res
			continue
		}
		r.result <- res
	}

	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].lead <- struct{}{}
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return mine
}

func queued(queue []*batchRequest) int {
	n := 0
	for _, r := range queue {
		n += len(r.events)
	}
	return n
}
