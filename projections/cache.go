package projections

import lru "github.com/hashicorp/golang-lru/v2"

// docCache is a bounded LRU of documents by index and id: a rebuild
// worker's, or a live projection's. It only ever holds documents as they
// were written, so an evicted one is read back from the index, and one
// that another writer moved on since is harmless: folding newer events
// onto it finds the gap and heals from the event store, and a write built
// on it that is older than the stored document comes back stale and drops
// it from the cache.
type docCache struct{ lru *lru.Cache[docRef, any] }

func newDocCache(max int) *docCache {
	c, err := lru.New[docRef, any](max)
	if err != nil {
		panic(err) // only for a size below 1, a bug of the caller
	}
	return &docCache{lru: c}
}

func (c *docCache) get(ref docRef) (any, bool) { return c.lru.Get(ref) }

func (c *docCache) put(ref docRef, doc any) { c.lru.Add(ref, doc) }

func (c *docCache) remove(ref docRef) { c.lru.Remove(ref) }
