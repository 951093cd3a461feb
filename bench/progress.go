package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stats are the counters and histograms the load updates concurrently.
type stats struct {
	sent, answered, placed, final atomic.Int64
	measuredSent, measuredPlaced  atomic.Int64
	measuredFinal                 atomic.Int64
	dropped, resolved, polls      atomic.Int64
	subscriptionFallbacks         atomic.Int64
	errors                        atomic.Int64
	busyAccounts                  atomic.Int64
	// lastPlaced and lastFinal are when the last measured order was placed
	// and seen final (Unix nanoseconds).
	lastPlaced, lastFinal atomic.Int64

	placement *Histogram
	cancel    *Histogram
	// e2e is the latency until the bench saw the order final; e2eBy splits
	// it by scenario; e2eCommitted ends at the commit of the final event.
	e2e          *Histogram
	e2eBy        map[Scenario]*Histogram
	e2eCommitted *Histogram

	mu         sync.Mutex
	errorsBy   map[errorKey]int64
	phase      string
	phaseStart time.Time
	start      time.Time
}

type errorKey struct{ op, code string }

func newStats() *stats {
	s := &stats{
		placement: NewHistogram(),
		cancel:    NewHistogram(),
		e2e:       NewHistogram(),

		e2eCommitted: NewHistogram(),
		e2eBy:        map[Scenario]*Histogram{},
		errorsBy:     map[errorKey]int64{},
		phase:        "setup",
	}
	for _, sc := range Scenarios() {
		s.e2eBy[sc] = NewHistogram()
	}
	return s
}

func (s *stats) countError(op, code string) {
	s.errors.Add(1)
	s.mu.Lock()
	s.errorsBy[errorKey{op, code}]++
	s.mu.Unlock()
}

func (s *stats) recordE2E(sc Scenario, d time.Duration) {
	s.e2e.Record(d)
	s.e2eBy[sc].Record(d)
}

// markLast moves v forward to t.
func markLast(v *atomic.Int64, t time.Time) {
	n := t.UnixNano()
	for {
		old := v.Load()
		if old >= n || v.CompareAndSwap(old, n) {
			return
		}
	}
}

func (s *stats) setPhase(phase string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if phase == "load" {
		s.start = at
	}
	s.phase, s.phaseStart = phase, at
}

func (s *stats) loadStart() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start
}

func (s *stats) errorCounts() []ErrorCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ErrorCount, 0, len(s.errorsBy))
	for k, n := range s.errorsBy {
		out = append(out, ErrorCount{Op: k.op, Code: k.code, Count: n})
	}
	sortErrors(out)
	return out
}

func sortErrors(errs []ErrorCount) {
	sort.Slice(errs, func(i, j int) bool {
		if errs[i].Op != errs[j].Op {
			return errs[i].Op < errs[j].Op
		}
		return errs[i].Code < errs[j].Code
	})
}

// progressLine renders one line of live progress.
type progressLine struct {
	Phase                                 string
	Elapsed                               time.Duration
	Sent, Answered, Placed, Final, Errors int64
	Rate                                  float64
	P99                                   time.Duration
	Busy                                  int64
}

func (p progressLine) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %6.1fs  sent %d  answered %d  placed %d  final %d  errors %d  rate %.1f/s  p99 %s",
		p.Phase, p.Elapsed.Seconds(), p.Sent, p.Answered, p.Placed, p.Final, p.Errors, p.Rate, formatMs(p.P99))
	if p.Phase == "settle" {
		fmt.Fprintf(&b, "  open %d", max(p.Placed-p.Final, 0))
		if p.Busy > 0 {
			fmt.Fprintf(&b, "  accounts busy %d", p.Busy)
		}
	}
	return b.String()
}

func formatMs(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

// startProgress writes a progress line every interval until the returned
// func is called.
func (r *runner) startProgress(w io.Writer) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(r.cfg.ProgressInterval)
		defer t.Stop()
		lastSent, lastAt := int64(0), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				s := r.stats
				s.mu.Lock()
				phase, start := s.phase, s.start
				s.mu.Unlock()
				sent := s.sent.Load()
				line := progressLine{
					Phase: phase, Elapsed: now.Sub(start),
					Sent: sent, Answered: s.answered.Load(), Placed: s.placed.Load(), Final: s.final.Load(),
					Errors: s.errors.Load(), Rate: float64(sent-lastSent) / now.Sub(lastAt).Seconds(),
					P99: s.placement.Percentile(0.99), Busy: s.busyAccounts.Load(),
				}
				if start.IsZero() {
					line.Elapsed = 0
				}
				lastSent, lastAt = sent, now
				fmt.Fprintln(w, line)
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done); <-finished }) }
}
