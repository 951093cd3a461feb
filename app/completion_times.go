package app

import (
	"slices"
	"sync"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Bounds of the end-to-end measurement (CompletionTimes).
const (
	// CompletionWindow is how far back finished orders count: the
	// estimate follows the system's recent pace, not its history.
	CompletionWindow = 5 * time.Minute
	// CompletionSamples bounds the finished orders kept (the newest).
	CompletionSamples = 1024
	// MinCompletionSamples is how many finished orders in the window an
	// estimate needs; with fewer, DefaultCompletionEstimate stands in.
	MinCompletionSamples = 5
	// DefaultCompletionEstimate is the end-to-end time assumed while
	// nothing was measured (a process just started, a quiet system): on a
	// healthy system an order is final well within it (docs/benchmarks.md).
	DefaultCompletionEstimate = 2 * time.Second
	// maxOrdersInFlight bounds the placements remembered until their
	// final event; beyond it new placements are not measured.
	maxOrdersInFlight = 65536
	// inFlightHorizon is how long a placement is remembered: an order not
	// final by then (a parked saga, a lost event) is no longer waited for.
	inFlightHorizon = 10 * time.Minute
)

// CompletionTimes measures how long orders take from placement to their
// final state (CONFIRMED, CANCELLED or FAILED), from the ordering events
// the API process sees on its change feed: the time of an order's
// OrderPlaced to the time of its final event, both as recorded in the
// event store. Every API process follows every ordering event, so each
// measures all orders, whoever placed them. Safe for concurrent use; the
// zero value is not usable, use NewCompletionTimes.
type CompletionTimes struct {
	mu      sync.Mutex
	now     func() time.Time
	placed  map[string]time.Time
	swept   time.Time
	samples []completionSample // ring of the newest CompletionSamples
	next    int
}

type completionSample struct {
	finished time.Time
	took     time.Duration
}

// NewCompletionTimes returns an empty measurement; now is the clock (nil:
// time.Now).
func NewCompletionTimes(now func() time.Time) *CompletionTimes {
	if now == nil {
		now = time.Now
	}
	return &CompletionTimes{now: now, placed: map[string]time.Time{}}
}

var finalOrderEvents = map[string]bool{
	messages.OrderConfirmed{}.EventType(): true,
	messages.OrderCancelled{}.EventType(): true,
	messages.OrderFailed{}.EventType():    true,
}

// Observe takes one ordering event off the change feed: an OrderPlaced
// starts an order's clock, its final event stops it. at is when the event
// was recorded (the zero time: now). Other events, and final events of
// orders placed before the process watched, are ignored.
func (c *CompletionTimes) Observe(orderID, eventType string, at time.Time) {
	placement := eventType == messages.OrderPlaced{}.EventType()
	if !placement && !finalOrderEvents[eventType] {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if at.IsZero() {
		at = now
	}
	if placement {
		if len(c.placed) >= maxOrdersInFlight {
			c.sweep(now)
		}
		if len(c.placed) < maxOrdersInFlight {
			c.placed[orderID] = at
		}
		return
	}
	placedAt, ok := c.placed[orderID]
	if !ok {
		return
	}
	delete(c.placed, orderID)
	took := max(at.Sub(placedAt), 0)
	s := completionSample{finished: now, took: took}
	if len(c.samples) < CompletionSamples {
		c.samples = append(c.samples, s)
		return
	}
	c.samples[c.next] = s
	c.next = (c.next + 1) % CompletionSamples
}

// sweep forgets placements older than inFlightHorizon, at most once a
// second.
func (c *CompletionTimes) sweep(now time.Time) {
	if now.Sub(c.swept) < time.Second {
		return
	}
	c.swept = now
	for id, at := range c.placed {
		if now.Sub(at) > inFlightHorizon {
			delete(c.placed, id)
		}
	}
}

// CompletionStats is what was measured over CompletionWindow.
type CompletionStats struct {
	// Samples is how many orders finished in the window.
	Samples int
	// Median and P90 are their end-to-end times; both are
	// DefaultCompletionEstimate when Samples < MinCompletionSamples.
	Median, P90 time.Duration
	// Measured is false when the defaults stand in.
	Measured bool
}

// Stats returns the end-to-end times of the orders that finished within
// CompletionWindow. A nil CompletionTimes (a process without a change
// feed) measured nothing.
func (c *CompletionTimes) Stats() CompletionStats {
	fallback := CompletionStats{Median: DefaultCompletionEstimate, P90: DefaultCompletionEstimate}
	if c == nil {
		return fallback
	}
	c.mu.Lock()
	since := c.now().Add(-CompletionWindow)
	took := make([]time.Duration, 0, len(c.samples))
	for _, s := range c.samples {
		if s.finished.After(since) {
			took = append(took, s.took)
		}
	}
	c.mu.Unlock()
	fallback.Samples = len(took)
	if len(took) < MinCompletionSamples {
		return fallback
	}
	slices.Sort(took)
	return CompletionStats{
		Samples:  len(took),
		Median:   took[(len(took)-1)/2],
		P90:      took[(len(took)*9+9)/10-1],
		Measured: true,
	}
}
