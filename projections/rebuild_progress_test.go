package projections_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/projections"
)

func TestProgressPrinter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	projections.ProgressPrinter(&b)(projections.RebuildProgress{
		Projection: projections.Orders, Phase: projections.PhaseCopying, Resumed: true,
		Position: 420000, Head: 1000000, Rate: 14077.4, Documents: 120000, Elapsed: 30 * time.Second, ETA: 41 * time.Second,
	})
	require.Equal(t, "orders copying (resumed): 420000/1000000 (42.0%), 14077 events/s, 120000 documents, elapsed 30s, eta 41s\n", b.String())
}
