package projections

import (
	"container/list"
	"sync"
)

// docCache is a bounded LRU of documents by index and id: a rebuild
// worker's, or a live projection's. It only ever holds documents as they
// were written, so an evicted one is read back from the index, and one
// that another writer moved on since is harmless: folding newer events
// onto it finds the gap and heals from the event store, and a write built
// on it that is older than the stored document comes back stale and drops
// it from the cache.
type docCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recently used
	items map[docRef]*list.Element
}

type cacheEntry struct {
	ref docRef
	doc any
}

func newDocCache(max int) *docCache {
	return &docCache{max: max, order: list.New(), items: map[docRef]*list.Element{}}
}

func (c *docCache) get(ref docRef) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[ref]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).doc, true
}

func (c *docCache) put(ref docRef, doc any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[ref]; ok {
		el.Value.(*cacheEntry).doc = doc
		c.order.MoveToFront(el)
		return
	}
	c.items[ref] = c.order.PushFront(&cacheEntry{ref: ref, doc: doc})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).ref)
	}
}

func (c *docCache) remove(ref docRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[ref]; ok {
		c.order.Remove(el)
		delete(c.items, ref)
	}
}
