// Package timeline tells one order's story for a person: every event of
// every context that concerns it (the order's own stream, the reservations
// and payments naming it), the commands the contexts handled for it and
// what they refused, when the saga applied each event, and the saga's
// phase, attempts, deadline, failure and compensations, in time order.
// `orderflow order <id>` prints it and the GraphQL admin field
// orderTimeline returns it.
package timeline

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Kinds of entries.
const (
	// KindEvent is an event of a context's event store.
	KindEvent = "event"
	// KindCommand is a command a context handled (its inbox), accepted or
	// refused.
	KindCommand = "command"
	// KindSaga is what the saga did: started, applied an event, its next
	// deadline, its end.
	KindSaga = "saga"
)

// Entry is one moment of the story.
type Entry struct {
	At time.Time `json:"at"`
	// Context is ordering, inventory, payments or saga.
	Context string `json:"context"`
	Kind    string `json:"kind"`
	// Name is the event type, the command's handler, or what the saga did.
	Name string `json:"name"`
	// Stream and Version place an event in its aggregate's stream.
	Stream  string `json:"stream,omitempty"`
	Version int    `json:"version,omitempty"`
	// ID is the event's or the message's id.
	ID            string `json:"id,omitempty"`
	CorrelationID string `json:"correlationId,omitempty"`
	CausationID   string `json:"causationId,omitempty"`
	// TraceID is the trace the event was recorded in, when tracing is on.
	TraceID string `json:"traceId,omitempty"`
	// Detail is the event's data, or what was refused and why.
	Detail string `json:"detail,omitempty"`
	// Failure marks a refusal, a compensation or the saga's failure.
	Failure bool `json:"failure,omitempty"`
}

// Saga is the saga's state as it stands.
type Saga struct {
	Phase     string    `json:"phase"`
	Outcome   string    `json:"outcome,omitempty"`
	Attempts  int       `json:"attempts"`
	Deadline  time.Time `json:"deadline,omitzero"`
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt,omitzero"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Failure is why it compensated ("CODE: message"), if it did.
	Failure       string   `json:"failure,omitempty"`
	Compensations []string `json:"compensations,omitempty"`
	Completed     []string `json:"completed,omitempty"`
}

// Timeline is one order's story.
type Timeline struct {
	OrderID string `json:"orderId"`
	// Saga is nil for an order whose saga never started.
	Saga    *Saga   `json:"saga,omitempty"`
	Entries []Entry `json:"entries"`
}

// sortEntries puts entries in time order; at the same instant events keep
// their stream order and come before the saga's reaction to them. Each
// stream's events stay in version order (KeepStreamOrder).
func sortEntries(es []Entry) {
	rank := map[string]int{KindCommand: 0, KindEvent: 1, KindSaga: 2}
	slices.SortStableFunc(es, func(a, b Entry) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(rank[a.Kind], rank[b.Kind]),
			cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Version, b.Version))
	})
	KeepStreamOrder(es, func(e Entry) (string, int, bool) {
		return e.Context + "/" + e.Stream, e.Version, e.Kind == KindEvent && e.Stream != ""
	})
}

// KeepStreamOrder puts the events of each stream of a list in time order
// back in version order, each in the places its stream's events hold;
// every other item keeps its place. stream names an item's stream and
// version, ok false for an item of none. Events recorded before migration
// 00011 carry their transaction's start, so a later version of a stream
// can look older than the one before it; an order's story must not tell
// them swapped (the timeline here, orderEvents in app).
func KeepStreamOrder[T any](items []T, stream func(T) (key string, version int, ok bool)) {
	places := map[string][]int{}
	for i, it := range items {
		if key, _, ok := stream(it); ok {
			places[key] = append(places[key], i)
		}
	}
	version := func(it T) int { _, v, _ := stream(it); return v }
	for _, at := range places {
		events := make([]T, len(at))
		for j, i := range at {
			events[j] = items[i]
		}
		slices.SortStableFunc(events, func(a, b T) int { return cmp.Compare(version(a), version(b)) })
		for j, i := range at {
			items[i] = events[j]
		}
	}
}

// TraceIDs are the distinct traces the order's events were recorded in,
// in order of appearance: one when tracing was on throughout.
func (t Timeline) TraceIDs() []string {
	var ids []string
	for _, e := range t.Entries {
		if e.TraceID != "" && !slices.Contains(ids, e.TraceID) {
			ids = append(ids, e.TraceID)
		}
	}
	return ids
}

// WriteText prints the story for a terminal: the saga's summary, then one
// line per entry with its time relative to the first.
func (t Timeline) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "order %s\n", t.OrderID)
	if s := t.Saga; s != nil {
		fmt.Fprintf(tw, "saga: phase %s", s.Phase)
		if s.Outcome != "" {
			fmt.Fprintf(tw, ", outcome %s", s.Outcome)
		}
		fmt.Fprintf(tw, ", attempts %d, started %s", s.Attempts, s.StartedAt.UTC().Format(time.RFC3339Nano))
		if !s.EndedAt.IsZero() {
			fmt.Fprintf(tw, ", took %s", s.EndedAt.Sub(s.StartedAt).Round(time.Millisecond))
		}
		if !s.Deadline.IsZero() {
			fmt.Fprintf(tw, ", next deadline %s", s.Deadline.UTC().Format(time.RFC3339Nano))
		}
		fmt.Fprintln(tw)
		if s.Failure != "" {
			fmt.Fprintf(tw, "failure: %s\n", s.Failure)
		}
		if len(s.Compensations) > 0 {
			fmt.Fprintf(tw, "compensations: %s\n", strings.Join(s.Compensations, ", "))
		}
	} else {
		fmt.Fprintln(tw, "saga: none")
	}
	if traces := t.TraceIDs(); len(traces) > 0 {
		fmt.Fprintf(tw, "trace: %s\n", strings.Join(traces, ", "))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "at\t+ms\tcontext\tkind\twhat\tstream@version\tid\tcorrelation\tcausation\tdetail")
	var first time.Time
	if len(t.Entries) > 0 {
		first = t.Entries[0].At
	}
	for _, e := range t.Entries {
		name := e.Name
		if e.Failure {
			name = "! " + name
		}
		where := e.Stream
		if e.Version > 0 {
			where = fmt.Sprintf("%s@%d", e.Stream, e.Version)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			e.At.UTC().Format("15:04:05.000"), e.At.Sub(first).Milliseconds(), e.Context, e.Kind, name,
			where, e.ID, e.CorrelationID, e.CausationID, clip(e.Detail, 160))
	}
	return tw.Flush()
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
