package consumer

import (
	"context"
	"fmt"
	"runtime/debug"

	"golang.org/x/sync/errgroup"
)

// ByKey returns a batch handler that handles a batch's messages one at a
// time with handle, grouped by record key (Grouped): the messages of one
// key in offset order, one after the other, the groups concurrently, at
// most limit at a time. A key's order is thus the partition's order, as
// with one message at a time, while messages of other aggregates need not
// wait behind a slow one. A group stops at its first failure; the others
// run to their end, and the batch fails with the first failure (the loop
// then splits it, so handle must be idempotent, as for any handler). A
// panic in handle fails its message, as an error would.
func ByKey(limit int, handle func(ctx context.Context, m Message) error) Handler {
	return func(ctx context.Context, batch []Message) error {
		return Grouped(ctx, batch, func(m Message) string { return m.Key }, limit, func(ctx context.Context, msgs []Message) error {
			for _, m := range msgs {
				if err := handleOne(ctx, m, handle); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// Grouped splits items by key, keeping their order within a key, and
// calls handle once per key with that key's items: the keys concurrently,
// at most limit at a time (one key is handled on the calling goroutine).
// It returns the first failure after every group ended; a panic in handle
// is its group's failure.
func Grouped[T any](ctx context.Context, items []T, key func(T) string, limit int, handle func(context.Context, []T) error) error {
	var keys []string
	groups := map[string][]T{}
	for _, it := range items {
		k := key(it)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], it)
	}
	if len(keys) == 1 {
		return handle(ctx, items)
	}
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for _, k := range keys {
		group := groups[k]
		g.Go(func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic handling the messages of key %q: %v\n%s", k, r, debug.Stack())
				}
			}()
			return handle(ctx, group)
		})
	}
	return g.Wait()
}

// handleOne runs handle for m, turning a panic into the message's error:
// it runs on a goroutine of its own, where nothing else could recover it.
func handleOne(ctx context.Context, m Message, handle func(context.Context, Message) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic handling message %s at %s/%d offset %d: %v\n%s", m.UUID, m.Topic, m.Partition, m.Offset, r, debug.Stack())
		}
	}()
	return handle(ctx, m)
}
