package consumer

import "context"

// Middleware wraps a consumer's handler, for what every batch should go
// through (fault injection in tests, for instance).
type Middleware func(Handler) Handler

// Duplicator hands every message of a batch to the handler twice in a row,
// as a redelivery would: a fault injection showing that handling is
// idempotent even within one batch.
func Duplicator(h Handler) Handler {
	return func(ctx context.Context, batch []Message) error {
		twice := make([]Message, 0, 2*len(batch))
		for _, m := range batch {
			twice = append(twice, m, m)
		}
		return h(ctx, twice)
	}
}
