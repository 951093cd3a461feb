package documents

import (
	"cmp"
	"fmt"
	"slices"
)

// GapError says a stream's events skip versions: the document is at Have
// and the next event offered is Next > Have+1. The projector heals it by
// reading the stream from the event store; it never applies across a hole.
type GapError struct {
	StreamID string
	Have     int
	Next     int
}

func (e *GapError) Error() string {
	return fmt.Sprintf("stream %s: document at version %d, next event is version %d", e.StreamID, e.Have, e.Next)
}

// fold applies events of one stream to doc in version order. Events at or
// below the document's version are skipped; the first missing version ends
// the fold with a *GapError.
func fold[D any](apply func(D, Event) D, version func(D) int, doc D, events []Event) (D, error) {
	sorted := slices.SortedStableFunc(slices.Values(events), func(a, b Event) int { return cmp.Compare(a.Version, b.Version) })
	for _, e := range sorted {
		v := version(doc)
		switch {
		case e.Version <= v:
			continue
		case e.Version > v+1:
			return doc, &GapError{StreamID: e.StreamID, Have: v, Next: e.Version}
		}
		doc = apply(doc, e)
	}
	return doc, nil
}
