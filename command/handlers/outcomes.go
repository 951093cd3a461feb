package handlers

import "sync"

// outcomes tells waiters in this process the moment a message's outcome
// (applied or refused) is committed by an executor here, so a caller that
// sent a command and reads its outcome from the inbox need not poll on a
// timer when the handler runs in its own process (orderflow all). Callers
// still poll: the handler may run in another process.
type outcomes struct {
	mu      sync.Mutex
	waiters map[outcomeKey][]chan struct{}
}

type outcomeKey struct{ handler, id string }

func newOutcomes() *outcomes { return &outcomes{waiters: map[outcomeKey][]chan struct{}{}} }

// wait returns a channel closed once the outcome of message id of handler
// is committed here, and a func that stops waiting.
func (o *outcomes) wait(handler, id string) (<-chan struct{}, func()) {
	k := outcomeKey{handler, id}
	ch := make(chan struct{})
	o.mu.Lock()
	o.waiters[k] = append(o.waiters[k], ch)
	o.mu.Unlock()
	return ch, func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		ws := o.waiters[k]
		for i, w := range ws {
			if w == ch {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(o.waiters, k)
		} else {
			o.waiters[k] = ws
		}
	}
}

// committed wakes the waiters of message id of handler.
func (o *outcomes) committed(handler, id string) {
	if o == nil {
		return
	}
	k := outcomeKey{handler, id}
	o.mu.Lock()
	ws := o.waiters[k]
	delete(o.waiters, k)
	o.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

// OutcomeCommitted returns a channel closed once a handler of this process
// commits the outcome of message id of handler (the inbox row is then
// there to read), and a func that stops waiting; call it in any case.
func (h *Handlers) OutcomeCommitted(handler, id string) (<-chan struct{}, func()) {
	return h.outcomes.wait(handler, id)
}
