package consumer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/orderflow/orderflow/internal/pause"
)

// combiner joins the batches the consumer's partitions have ready at the
// same moment into one handler call (Config.Combine): at 100 orders a
// second a partition holds about one message when it is read, so without
// it every message costs its own transaction.
//
// It has no goroutine of its own: a partition that submits while no
// leader is collecting becomes one (up to Config.CombineParallel at
// once), lingers (Config.CombineLinger) unless enough is queued, takes
// its own submission and whatever queued up, runs the handler once over
// them and hands each submitter the outcome; what waits when a leader is
// done gets the lead. A submission is never split: a call carries whole
// submissions up to MaxBatch messages (or one larger submission alone).
// A partition submits its next batch only once its previous call ended,
// so concurrent calls never hold two batches of one partition. Each
// partition's messages stay together and in offset order, so a key's
// order is kept (a key lives in one partition).
//
// A combined call that fails tells every submitter to try its own batch
// alone (combinedFailed): the ordinary path then isolates the failing
// message within its partition, and the other partitions' batches, tried
// alone, pass. Handlers are idempotent, so what the failed call did
// before it failed (an Elasticsearch bulk is not one transaction) is
// harmless when done again.
type combiner struct {
	c        *Consumer
	max      int
	linger   time.Duration
	parallel int

	mu    sync.Mutex
	queue []*submission
	// running counts the leaders between their start and their end;
	// collecting is set while one of them lingers or has not yet taken
	// its submissions: a new submission then joins its call.
	running    int
	collecting bool
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
	var err error
	if !b.collecting && b.running < b.parallel {
		b.running++
		b.collecting = true
		b.mu.Unlock()
		err = b.run(ctx, req)
	} else {
		b.queue = append(b.queue, req)
		b.mu.Unlock()
		// A leader always answers (its attempt is bounded by
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

// run is a leader's turn: it lingers, takes self and what queued up
// before it (oldest first, up to max messages), and calls the handler.
func (b *combiner) run(ctx context.Context, self *submission) error {
	if b.linger > 0 {
		b.mu.Lock()
		short := len(self.msgs)+queuedMessages(b.queue) < b.max
		b.mu.Unlock()
		if short {
			pause.For(ctx, b.linger)
		}
	}
	b.mu.Lock()
	taken, size := []*submission{self}, len(self.msgs)
	for len(b.queue) > 0 && size+len(b.queue[0].msgs) <= b.max {
		size += len(b.queue[0].msgs)
		taken = append(taken, b.queue[0])
		b.queue = b.queue[1:]
	}
	b.collecting = false
	b.handOver() // what did not fit
	b.mu.Unlock()

	var err error
	if len(taken) == 1 {
		err = b.c.attempt(ctx, self.msgs)
	} else {
		all := make([]Message, 0, size)
		for _, s := range taken {
			all = append(all, s.msgs...)
		}
		b.c.cfg.Metrics.combined.WithLabelValues(b.c.cfg.Name).Observe(float64(len(taken)))
		if err = b.c.attempt(ctx, all); err != nil {
			err = combinedFailed
		}
	}
	for _, s := range taken[1:] {
		s.result <- err
	}

	b.mu.Lock()
	b.running--
	b.handOver()
	b.mu.Unlock()
	return err
}

// handOver makes the oldest waiting submission a leader, if there is one,
// no leader is collecting and fewer than parallel run. b.mu is held.
func (b *combiner) handOver() {
	if len(b.queue) == 0 || b.collecting || b.running >= b.parallel {
		return
	}
	next := b.queue[0]
	b.queue = b.queue[1:]
	b.running++
	b.collecting = true
	next.lead <- struct{}{}
}

func queuedMessages(queue []*submission) int {
	n := 0
	for _, s := range queue {
		n += len(s.msgs)
	}
	return n
}
