package bench

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The two load models. Both call fire(seq, scheduled) once per order, seq
// counting from zero; fire places the order and records what happened,
// measuring latency from scheduled.
//
// The open model sends on a fixed schedule and never waits for earlier
// answers, so a slow server faces a growing queue as real users would
// make it, and latency is measured from the moment a request was due
// rather than the moment it left: a stall shows in every order it
// delayed, not just in the one that was stuck (no coordinated omission).
// The closed model keeps a fixed number of requests outstanding: it finds
// the throughput the server sustains, and its latency is that of a
// request that was sent when the previous one came back.

// arrival is the scheduled send time of order i at rate orders per
// second: evenly spaced, computed from the start rather than accumulated,
// so rounding never drifts.
func arrival(start time.Time, rate float64, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// arrivals is how many orders the open model sends in total.
func arrivals(rate float64, total time.Duration) int64 {
	if rate <= 0 || total <= 0 {
		return 0
	}
	n := int64(rate * total.Seconds())
	// The last arrival must fall strictly before the end.
	for n > 0 && arrival(time.Time{}, rate, n-1).Sub(time.Time{}) >= total {
		n--
	}
	for arrival(time.Time{}, rate, n).Sub(time.Time{}) < total {
		n++
	}
	return n
}

// runOpen fires every arrival of [start, start+total) at its time, each in
// its own goroutine, and returns when all of them returned. An arrival
// that finds maxInFlight fires still running is passed to drop instead:
// the bench cannot keep up, and says so rather than slowing the schedule.
// Arrivals the scheduler reaches late (a pause, a busy machine) are fired
// at once, still carrying their scheduled time.
func runOpen(ctx context.Context, start time.Time, rate float64, total time.Duration, maxInFlight int,
	fire, drop func(seq int64, scheduled time.Time)) {
	var wg sync.WaitGroup
	defer wg.Wait()
	var inFlight atomic.Int64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	n := arrivals(rate, total)
	for i := range n {
		at := arrival(start, rate, i)
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		if inFlight.Load() >= int64(maxInFlight) {
			drop(i, at)
			continue
		}
		inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer inFlight.Add(-1)
			fire(i, at)
		}()
	}
}

// runClosed runs workers loops, each firing its next order as soon as the
// previous one returned, until start+total; the scheduled time of an
// order is when its worker got to it.
func runClosed(ctx context.Context, start time.Time, workers int, total time.Duration, fire func(seq int64, scheduled time.Time)) {
	end := start.Add(total)
	if wait := time.Until(start); wait > 0 {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				fire(seq.Add(1)-1, now)
			}
		}()
	}
	wg.Wait()
}
