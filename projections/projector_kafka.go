package projections

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/messages"
)

// AddHandlers subscribes one live projector per projection to its
// context's event topic, each in its own consumer group (the handler name
// constants; a new group starts at the oldest offset, so a fresh projector
// replays all history). newSubscriber namespaces the group, topic the
// topic, as for the saga.
//
// Watermill hands a handler one message per partition at a time and waits
// for its ack; the handlers of all partitions share a batcher per
// projection, so the messages in flight at once are read with one mget and
// written with one bulk request. A message is acked only once its
// document is written (or found stale).
func (p *Projector) AddHandlers(router *message.Router, newSubscriber bus.SubscriberFactory, topic bus.Namer) error {
	for _, n := range Names() {
		d := p.defs[n]
		sub, err := newSubscriber(d.handlerName)
		if err != nil {
			return fmt.Errorf("subscribe projection %s: %w", n, err)
		}
		router.AddConsumerHandler(d.handlerName, topic(messages.EventsTopic(string(d.context))), sub, p.handleMessage(n))
	}
	return nil
}

func (p *Projector) handleMessage(n Name) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		e, err := EventFromMessage(msg)
		if err != nil {
			// A record the projector cannot place is skipped, as the saga
			// does; if it belonged to a stream, the stream's next event
			// finds the gap and heals it from the event store.
			p.logger.Error("undecodable event skipped", "projection", n, "message_id", msg.UUID, "error", err)
			return nil
		}
		return p.batcher(n).submit(msg.Context(), e)
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

// batcher groups events submitted concurrently into one projection call.
// There is no goroutine of its own: the first submitter becomes the
// leader, lingers briefly, flushes whatever queued up, and hands the
// leadership to the next waiting submitter, if any.
type batcher struct {
	max    int
	linger time.Duration
	flush  func(context.Context, []Event) (outcome, error)

	mu      sync.Mutex
	queue   []*batchRequest
	leading bool
}

type batchRequest struct {
	event  Event
	result chan error
	lead   chan struct{}
}

func (b *batcher) submit(ctx context.Context, e Event) error {
	req := &batchRequest{event: e, result: make(chan error, 1), lead: make(chan struct{}, 1)}
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
		short := len(b.queue) < b.max
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
	n := min(len(b.queue), b.max)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	events := make([]Event, len(batch))
	for i, r := range batch {
		events[i] = r.event
	}
	// The leader's message context may end (the router closing); the
	// others' events were handed over in good faith, so finish the batch.
	out, err := b.flush(context.WithoutCancel(ctx), events)

	var mine error
	for _, r := range batch {
		res := err
		if res == nil {
			res = out.failed[r.event.StreamID]
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
