package consumer

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Set runs several consumers (one per consumer group) as one.
type Set struct {
	consumers []*Consumer
	once      sync.Once
	running   chan struct{}
}

// NewSet returns the consumers as one.
func NewSet(consumers ...*Consumer) *Set {
	return &Set{consumers: consumers, running: make(chan struct{})}
}

// Run runs every consumer until ctx ends or one fails.
func (s *Set) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, c := range s.consumers {
		g.Go(func() error { return c.Run(ctx) })
	}
	return g.Wait()
}

// Running is closed once every consumer is running.
func (s *Set) Running() <-chan struct{} {
	s.once.Do(func() {
		go func() {
			for _, c := range s.consumers {
				<-c.Running()
			}
			close(s.running)
		}()
	})
	return s.running
}

// Close leaves the consumer groups of a set that is not run.
func (s *Set) Close() {
	for _, c := range s.consumers {
		_ = c.group.Close()
	}
}
