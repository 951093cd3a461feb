package projections

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/projections/documents"
)

// Concurrent submitters share flushes; each gets the outcome of its own
// stream, and nobody is left waiting.
func TestBatcherGroupsConcurrentSubmitters(t *testing.T) {
	t.Parallel()
	var (
		mu      sync.Mutex
		flushes [][]string
	)
	failing := errors.New("stream failed")
	b := &batcher{max: 4, linger: 5 * time.Millisecond, flush: func(_ context.Context, events []documents.Event) (outcome, error) {
		ids := make([]string, len(events))
		out := outcome{failed: map[string]error{}}
		for i, e := range events {
			ids[i] = e.StreamID
			if e.StreamID == "s-7" {
				out.failed[e.StreamID] = failing
			}
		}
		mu.Lock()
		flushes = append(flushes, ids)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		return out, nil
	}}

	const n = 40
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.submit(context.Background(), documents.Event{StreamID: fmt.Sprintf("s-%d", i)})
		}()
	}
	wg.Wait()

	seen := map[string]int{}
	for _, f := range flushes {
		require.LessOrEqual(t, len(f), 4)
		for _, id := range f {
			seen[id]++
		}
	}
	require.Len(t, seen, n, "every event flushed")
	for id, c := range seen {
		require.Equal(t, 1, c, id)
	}
	require.Less(t, len(flushes), n, "events shared flushes")
	for i, err := range errs {
		if i == 7 {
			require.ErrorIs(t, err, failing)
		} else {
			require.NoError(t, err, i)
		}
	}
	require.False(t, b.leading)
	require.Empty(t, b.queue)
}

func TestBatcherWholeFlushFailure(t *testing.T) {
	t.Parallel()
	boom := errors.New("elasticsearch down")
	b := &batcher{max: 10, flush: func(context.Context, []documents.Event) (outcome, error) { return outcome{}, boom }}
	require.ErrorIs(t, b.submit(context.Background(), documents.Event{StreamID: "a"}), boom)
	require.ErrorIs(t, b.submit(context.Background(), documents.Event{StreamID: "b"}), boom)
}
