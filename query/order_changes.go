package query

import "sync"

// OrderChanges fans the order change feed out to the subscribers of one
// process. It carries no data, only "order X changed": a subscriber then
// reads the order's new events from the event store after the version it
// has, so it sees every change, in order, and a missed signal only delays
// it until the next one (or its periodic re-check).
type OrderChanges struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

// NewOrderChanges returns an empty fan-out.
func NewOrderChanges() *OrderChanges {
	return &OrderChanges{subs: map[string]map[chan struct{}]struct{}{}}
}

// Notify signals every watcher of orderID; it never blocks.
func (c *OrderChanges) Notify(orderID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for ch := range c.subs[orderID] {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending
		}
	}
}

// Watch returns a channel signalled when orderID changes, and the func
// that stops watching.
func (c *OrderChanges) Watch(orderID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	if c.subs[orderID] == nil {
		c.subs[orderID] = map[chan struct{}]struct{}{}
	}
	c.subs[orderID][ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.subs[orderID], ch)
		if len(c.subs[orderID]) == 0 {
			delete(c.subs, orderID)
		}
	}
}
