package consumer

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// ByKey returns a batch handler that handles a batch's messages one at a
// time with handle, grouped by record key: the messages of one key in
// offset order, one after the other, the groups concurrently, at most
// limit at a time. A key's order is thus the partition's order, as with
// one message at a time, while messages of other aggregates need not wait
// behind a slow one. A group stops at its first failure; the others run
// to their end, and the batch fails with the first failure (the loop then
// splits it, so handle must be idempotent, as for any handler).
func ByKey(limit int, handle func(ctx context.Context, m Message) error) Handler {
	return func(ctx context.Context, batch []Message) error {
		var keys []string
		groups := map[string][]Message{}
		for _, m := range batch {
			if _, ok := groups[m.Key]; !ok {
				keys = append(keys, m.Key)
			}
			groups[m.Key] = append(groups[m.Key], m)
		}
		var g errgroup.Group
		g.SetLimit(max(limit, 1))
		for _, k := range keys {
			msgs := groups[k]
			g.Go(func() error {
				for _, m := range msgs {
					if err := handle(ctx, m); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return g.Wait()
	}
}
