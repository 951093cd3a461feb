package query

import (
	"sync"

	"github.com/orderflow/orderflow/messages"
)

// OrderChange is one event of an order's stream, as the change feed saw
// it: Event is nil when the feed could not decode it.
type OrderChange struct {
	OrderID string
	Version int
	Event   messages.Event
}

// changeBuffer is how many changes a watcher may fall behind before
// further ones are dropped; it then finds the gap by version and reads the
// order's stream.
const changeBuffer = 32

// OrderChanges fans the order change feed out to the subscribers of one
// process. A subscriber applies a change that directly follows the
// version it has, and reads the order's events after its version from the
// event store on anything else (a gap, an undecodable event, a dropped
// change), so it sees every change, in order; a missed change only delays
// it until the next one, or until the subscriber reads the stream itself
// (app's re-checks, at most a minute apart).
type OrderChanges struct {
	mu   sync.Mutex
	subs map[string]map[chan OrderChange]struct{}
}

// NewOrderChanges returns an empty fan-out.
func NewOrderChanges() *OrderChanges {
	return &OrderChanges{subs: map[string]map[chan OrderChange]struct{}{}}
}

// Watched reports whether anyone watches orderID, so the feed decodes only
// events someone waits for.
func (c *OrderChanges) Watched(orderID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.subs[orderID]) > 0
}

// Notify hands ch to every watcher of its order; it never blocks.
func (c *OrderChanges) Notify(ch OrderChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.subs[ch.OrderID] {
		select {
		case w <- ch:
		default: // the watcher is behind: it finds the gap later
		}
	}
}

// Watch returns the changes of orderID from now on, and the func that
// stops watching.
func (c *OrderChanges) Watch(orderID string) (<-chan OrderChange, func()) {
	ch := make(chan OrderChange, changeBuffer)
	c.mu.Lock()
	if c.subs[orderID] == nil {
		c.subs[orderID] = map[chan OrderChange]struct{}{}
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
