package projections

import (
	"fmt"
	"io"
	"time"
)

// ProgressPrinter returns a RebuildOptions.Progress that writes one line
// per report to w, for the rebuild command:
//
//	orders copying: 420000/1000000 (42.0%), 14077 events/s, 285674 documents, eta 41s
func ProgressPrinter(w io.Writer) func(RebuildProgress) {
	return func(p RebuildProgress) {
		pct := 100.0
		if p.Head > 0 {
			pct = 100 * float64(p.Position) / float64(p.Head)
		}
		resumed := ""
		if p.Resumed {
			resumed = " (resumed)"
		}
		fmt.Fprintf(w, "%s %s%s: %d/%d (%.1f%%), %.0f events/s, %d documents, elapsed %s, eta %s\n",
			p.Projection, p.Phase, resumed, p.Position, p.Head, pct, p.Rate, p.Documents,
			p.Elapsed.Round(time.Second), p.ETA.Round(time.Second))
	}
}
