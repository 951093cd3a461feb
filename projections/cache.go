package projections

import "container/list"

// docCache is a bounded LRU of documents by stream id, owned by one
// goroutine (a rebuild). It only ever holds documents that were written, so
// an evicted one is read back from the index.
type docCache struct {
	max   int
	order *list.List // front: most recently used
	items map[string]*list.Element
}

type cacheEntry struct {
	id  string
	doc any
}

func newDocCache(max int) *docCache {
	return &docCache{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (c *docCache) get(id string) (any, bool) {
	el, ok := c.items[id]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).doc, true
}

func (c *docCache) put(id string, doc any) {
	if el, ok := c.items[id]; ok {
		el.Value.(*cacheEntry).doc = doc
		c.order.MoveToFront(el)
		return
	}
	c.items[id] = c.order.PushFront(&cacheEntry{id: id, doc: doc})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).id)
	}
}

func (c *docCache) remove(id string) {
	if el, ok := c.items[id]; ok {
		c.order.Remove(el)
		delete(c.items, id)
	}
}
