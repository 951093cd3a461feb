package handlers

import "github.com/orderflow/orderflow/command/eventstore"

// NewExecutorWithCacheSize is NewExecutor with a cache of size entries.
func NewExecutorWithCacheSize[A Aggregate](store *eventstore.Store, streamType string, newAgg func() A, size int) *Executor[A] {
	return newExecutor(store, streamType, newAgg, size)
}
