package consumer

import (
	"context"
	"errors"
	"sync"
	"time"
)

// combiner joins the batches the consumer's partitions have ready at the
// same moment into one handler call (Config.Combine): at 100 orders a
// second a partition holds about one message when it is read, so without
// it every message costs its own transaction.
//
// It has no goroutine of its own: the first partition to submit becomes
// the leader, lingers (Config.CombineLinger) unless enough is queued,
// runs the handler once over whatever queued up, hands each submitter the
// outcome and the leadership to the next waiting submitter, if any. A
// submission is never split: a call carries whole submissions up to
// MaxBatch messages (or one larger submission alone). Each partition's
// messages stay together and in offset order, so a key's order is kept
// (a key lives in one partition).
//
// A combined call that fails tells every submitter to try its own batch
// alone (combinedFailed): the ordinary path then isolates the failing
// message within its partition, and the other partitions' batches, tried
// alone, pass. Handlers are idempotent, so what the failed call did
// before it failed (an Elasticsearch bulk is not one transaction) is
// harmless when done again.
type combiner struct {
	c      *Consumer
	max    int
	linger time.Duration

	mu      sync.Mutex
	queue   []*submission
	leading bool
}

type submission struct {
	msgs   []Message
	result chan error
	lead   chan struct{}
}

// combinedFailed is the outcome of a failed call that carried other
// partitions' messages too: try alone.
var combinedFailed = errors.New("a combined batch failed")

// attempt handles msgs together with what other partitions submit
// meanwhile; after a failed combined call it tries msgs alone.
func (b *combiner) attempt(ctx context.Context, msgs []Message) error {
	req := &submission{msgs: msgs, result: make(chan error, 1), lead: make(chan struct{}, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, req)
	var err error
	if !b.leading {
		b.leading = true
		b.mu.Unlock()
		err = b.run(ctx, req)
	} else {
		b.mu.Unlock()
		// The leader always answers (its attempt is bounded by
		// Config.Drain once its context ends), or hands over the lead.
		select {
		case err = <-req.result:
		case <-req.lead:
			err = b.run(ctx, req)
		}
	}
	if errors.Is(err, combinedFailed) {
		return b.c.attempt(ctx, msgs)
	}
	return err
}

// run is the leader's turn: self is at the head of the queue.
func (b *combiner) run(ctx context.Context, self *submission) error {
	if b.linger > 0 {
		b.mu.Lock()
		short := queuedMessages(b.queue) < b.max
		b.mu.Unlock()
		if short {
			sleep(ctx, b.linger)
		}
	}
	b.mu.Lock()
	n, size := 0, 0
	for n < len(b.queue) && (n == 0 || size+len(b.queue[n].msgs) <= b.max) {
		size += len(b.queue[n].msgs)
		n++
	}
	taken := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	var err error
	if n == 1 {
		err = b.c.attempt(ctx, self.msgs)
	} else {
		all := make([]Message, 0, size)
		for _, s := range taken {
			all = append(all, s.msgs...)
		}
		b.c.cfg.Metrics.combined.WithLabelValues(b.c.cfg.Name).Observe(float64(n))
		if err = b.c.attempt(ctx, all); err != nil {
			err = combinedFailed
		}
	}
	for _, s := range taken {
		if s != self {
			s.result <- err
		}
	}

	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].lead <- struct{}{}
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return err
}

func queuedMessages(queue []*submission) int {
	n := 0
	for _, s := range queue {
		n += len(s.msgs)
	}
	return n
}
