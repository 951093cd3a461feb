package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/pause"
	"github.com/orderflow/orderflow/messages"
)

// DeadLetters is where a consumer puts the messages it cannot handle, so
// its partitions move on: the retry levels and dead letters of package
// deadletter.
//
// A message that fails alone is retried in place a few times
// (InPlaceRetries, unless its error is permanent), then parked in the
// store, and the partition moves on. Every later message of the same key
// (aggregate) parks behind it, in order. The consumer's scheduler (one
// process at a time per handler) retries a parked message through the
// same handler when its level's delay passed, and after the last level it
// is dead, waiting for an operator; when it succeeds, is replayed or is
// discarded, the messages behind it follow in order. An error of class
// Unavailable (a dependency's open circuit breaker) parks nothing: the
// consumer pauses on its batch and tries again, which probes the breaker.
type DeadLetters struct {
	Store   *deadletter.Store
	Metrics *deadletter.Metrics
	// InPlaceRetries bounds the retries of a failing message in the
	// consumer before it is parked. Default 3.
	InPlaceRetries int
	// PollInterval is the shortest wait between two rounds of the
	// scheduler. Default 1 s.
	PollInterval time.Duration
	// IdlePollInterval is the longest: rounds that find nothing to do
	// wait longer and longer up to it (unless an entry is due sooner, or
	// this process parked something). Default 5 s.
	IdlePollInterval time.Duration
}

func (d *DeadLetters) validate() {
	if d.InPlaceRetries <= 0 {
		d.InPlaceRetries = 3
	}
	if d.PollInterval <= 0 {
		d.PollInterval = time.Second
	}
	if d.IdlePollInterval < d.PollInterval {
		d.IdlePollInterval = max(5*time.Second, d.PollInterval)
	}
	if d.Metrics == nil {
		d.Metrics = deadletter.NewMetrics(nil)
	}
}

// dueBatch bounds the parked messages one scheduler round takes.
const dueBatch = 100

// blockGate spares a partition's claim the look-up of blocked keys while
// the handler has no open dead letter at all, which is the normal case.
// Only the claim of a key's partition parks messages of that key, so
// once the claim found none open at its start, none can appear for its
// keys until it parks one itself (then it looks up every batch, and
// checks again now and then whether all were resolved).
type blockGate struct {
	checked  time.Time
	mayBlock bool
}

// blockGateRecheck is how often a claim that saw open dead letters checks
// whether they are all gone.
const blockGateRecheck = 30 * time.Second

// blockedKeys returns the keys of msgs that have an open dead letter for
// this handler. A store that cannot answer holds the partition: it is
// asked again until it answers or ctx ends.
func (c *Consumer) blockedKeys(ctx context.Context, msgs []Message, gate *blockGate) (map[string]bool, bool) {
	if c.cfg.DeadLetters == nil {
		return nil, true
	}
	if gate.checked.IsZero() || (gate.mayBlock && time.Since(gate.checked) > blockGateRecheck) {
		for wait := c.cfg.RetryInitial; ; wait = min(2*wait, c.cfg.RetryMax) {
			open, err := c.cfg.DeadLetters.Store.AnyOpen(ctx, c.cfg.Name)
			if err == nil {
				gate.mayBlock, gate.checked = open, time.Now()
				break
			}
			c.cfg.Logger.Error("dead-letter store unavailable, holding the partition", "handler", c.cfg.Name, "error", err)
			if !pause.For(ctx, wait) {
				return nil, false
			}
		}
	}
	if !gate.mayBlock {
		return map[string]bool{}, true
	}
	var keys []string
	for _, m := range msgs {
		if m.Key != "" {
			keys = append(keys, m.Key)
		}
	}
	if len(keys) == 0 {
		return map[string]bool{}, true
	}
	for wait := c.cfg.RetryInitial; ; wait = min(2*wait, c.cfg.RetryMax) {
		blocked, err := c.cfg.DeadLetters.Store.Blocked(ctx, c.cfg.Name, keys)
		if err == nil {
			return blocked, true
		}
		c.cfg.Logger.Error("dead-letter store unavailable, holding the partition", "handler", c.cfg.Name, "error", err)
		if !pause.For(ctx, wait) {
			return nil, false
		}
	}
}

// parkWaiting parks the messages of blocked keys behind their key's open
// entry and returns the others.
func (c *Consumer) parkWaiting(ctx context.Context, msgs []Message, blocked map[string]bool) ([]Message, bool) {
	if len(blocked) == 0 {
		return msgs, true
	}
	rest := msgs[:0:0]
	for _, m := range msgs {
		if m.Key == "" || !blocked[m.Key] {
			rest = append(rest, m)
			continue
		}
		cause := fmt.Errorf("an earlier message of %s is parked or dead", m.Key)
		if !c.park(ctx, m, deadletter.Waiting, cause, 0, blocked) {
			return nil, false
		}
	}
	return rest, true
}

// park stores m in the dead-letter store (until it can) and blocks its
// key for the rest of the batch. It reports false when ctx ended first.
func (c *Consumer) park(ctx context.Context, m Message, class deadletter.Class, cause error, attempts int, blocked map[string]bool) bool {
	dl := c.cfg.DeadLetters
	for wait := c.cfg.RetryInitial; ; wait = min(2*wait, c.cfg.RetryMax) {
		status, added, err := dl.Store.Park(ctx, storedMessage(c.cfg.Name, m), class, cause, attempts)
		if err == nil {
			if m.Key != "" {
				blocked[m.Key] = true
			}
			if added {
				c.logParked(ctx, m, class, status, cause)
				if status == deadletter.StatusDead {
					dl.Metrics.Dead(c.cfg.Name, class)
				}
				c.wakeScheduler()
			}
			return true
		}
		c.cfg.Logger.Error("dead-letter store unavailable, holding the partition", "handler", c.cfg.Name,
			"key", m.Key, "message_id", m.UUID, "error", err)
		if !pause.For(ctx, wait) {
			return false
		}
	}
}

func (c *Consumer) logParked(ctx context.Context, m Message, class deadletter.Class, status deadletter.Status, cause error) {
	attrs := []any{"handler", c.cfg.Name, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
		"key", m.Key, "message_id", m.UUID, "type", messageType(m.Message), "error_class", class, "status", status, "error", cause}
	switch {
	case class == deadletter.Waiting:
		c.cfg.Logger.InfoContext(ctx, "message parked behind an earlier one of its aggregate", attrs...)
	case status == deadletter.StatusDead:
		c.cfg.Logger.ErrorContext(ctx, "message dead-lettered", attrs...)
	default:
		c.cfg.Logger.WarnContext(ctx, "message parked for a later retry", attrs...)
	}
}

func (c *Consumer) wakeScheduler() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// handleAlone deals with the one message of a batch that failed with err:
// retried in place a few times, then parked (permanent errors at once);
// while its error says a dependency is unavailable the consumer pauses on
// it instead. It reports false when ctx ended first.
func (c *Consumer) handleAlone(ctx context.Context, m Message, err error, blocked map[string]bool) bool {
	dl := c.cfg.DeadLetters
	wait, retries := c.cfg.RetryInitial, 0
	for {
		switch class := deadletter.ClassOf(err); {
		case class == deadletter.Unavailable:
			dl.Metrics.Paused(c.cfg.Name)
		case class == deadletter.Permanent || retries >= dl.InPlaceRetries:
			return c.park(ctx, m, class, err, retries+1, blocked)
		default:
			retries++
			dl.Metrics.RetriedInPlace(c.cfg.Name)
		}
		if !pause.For(ctx, wait) {
			return false
		}
		wait = min(2*wait, c.cfg.RetryMax)
		if err = c.attempt(ctx, []Message{m}); err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.cfg.Logger.Warn("message failed, retrying it", "handler", c.cfg.Name, "topic", m.Topic,
			"partition", m.Partition, "offset", m.Offset, "key", m.Key, "message_id", m.UUID,
			"error_class", deadletter.ClassOf(err), "retry_in", wait, "error", err)
	}
}

// pauseWhileUnavailable retries msgs in place while their error says a
// dependency is unavailable (its breaker open): each attempt is the
// breaker's probe. It returns the first other outcome.
func (c *Consumer) pauseWhileUnavailable(ctx context.Context, msgs []Message, err error) error {
	if c.cfg.DeadLetters == nil {
		return err
	}
	for wait := c.cfg.RetryInitial; err != nil && ctx.Err() == nil && deadletter.ClassOf(err) == deadletter.Unavailable; wait = min(2*wait, c.cfg.RetryMax) {
		c.cfg.DeadLetters.Metrics.Paused(c.cfg.Name)
		c.cfg.Logger.Warn("dependency unavailable, consumer paused", "handler", c.cfg.Name, "topic", msgs[0].Topic,
			"partition", msgs[0].Partition, "first_offset", msgs[0].Offset, "retry_in", wait, "error", err)
		if !pause.For(ctx, wait) {
			return ctx.Err()
		}
		err = c.attempt(ctx, msgs)
	}
	return err
}

// undecodable parks a record that does not decode as a permanent dead
// letter under a synthetic message id (topic/partition/offset).
func (c *Consumer) undecodable(ctx context.Context, r *sarama.ConsumerMessage, cause error, blocked map[string]bool) bool {
	m := message.NewMessage(fmt.Sprintf("%s/%d/%d", r.Topic, r.Partition, r.Offset), r.Value)
	for _, h := range r.Headers {
		if h != nil {
			m.Metadata.Set(string(h.Key), string(h.Value))
		}
	}
	msg := Message{Message: m, Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Timestamp: r.Timestamp}
	return c.park(ctx, msg, deadletter.Permanent, fmt.Errorf("undecodable record: %w", cause), 1, blocked)
}

// runScheduler retries this handler's parked messages when due, in rounds,
// each under the handler's scheduler lock (one process at a time).
func (c *Consumer) runScheduler(ctx context.Context) {
	dl := c.cfg.DeadLetters
	idle := dl.PollInterval
	for ctx.Err() == nil {
		wait, busy := c.round(ctx)
		switch {
		case busy:
			idle = dl.PollInterval
			continue // the entries behind those resolved are due now
		case wait <= 0:
			wait = idle
			idle = min(2*idle, dl.IdlePollInterval)
		default:
			idle = dl.PollInterval
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-c.wake:
			idle = dl.PollInterval
		case <-t.C:
		}
		t.Stop()
	}
}

// round runs one scheduler round if this process gets the lock: it
// retries the due entries. busy reports that more may be due at once;
// wait, when positive, is how long until the next entry is due.
func (c *Consumer) round(ctx context.Context) (wait time.Duration, busy bool) {
	dl := c.cfg.DeadLetters
	lease, err := dl.Store.TryLead(ctx, c.cfg.Name)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Logger.Error("dead-letter scheduler cannot take its lock", "handler", c.cfg.Name, "error", err)
		}
		return 0, false
	}
	if lease == nil {
		return 0, false // another process's round
	}
	defer lease.Release()
	due, err := dl.Store.Due(ctx, lease.Querier(), c.cfg.Name, dueBatch)
	if err != nil {
		if ctx.Err() == nil {
			c.cfg.Logger.Error("dead-letter scheduler cannot read its due messages", "handler", c.cfg.Name, "error", err)
		}
		return 0, false
	}
	resolved := 0
	for _, e := range due {
		if ctx.Err() != nil {
			return 0, false
		}
		if c.retryParked(ctx, e) {
			resolved++
		}
	}
	if resolved > 0 || len(due) == dueBatch {
		return 0, true
	}
	next, ok, err := dl.Store.NextDue(ctx, lease.Querier(), c.cfg.Name)
	if err != nil || !ok {
		return 0, false
	}
	if wait = time.Until(next); wait <= 0 {
		// Due but not resolved: its dependency is unavailable. Probe
		// again after the shortest wait.
		wait = dl.PollInterval
	}
	return wait, false
}

// retryParked hands a parked entry to the handler again and records the
// outcome; it reports whether the entry was resolved.
func (c *Consumer) retryParked(ctx context.Context, e deadletter.Entry) bool {
	dl := c.cfg.DeadLetters
	m := message.NewMessage(e.MessageID, e.Payload)
	for k, v := range e.Headers {
		m.Metadata.Set(k, v)
	}
	m.SetContext(ctx)
	msg := Message{Message: m, Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Key: e.Key, Timestamp: e.FirstFailedAt}
	if e.Class != deadletter.Waiting {
		dl.Metrics.RetriedParked(c.cfg.Name, e.Level)
	}
	attrs := []any{"handler", c.cfg.Name, "key", e.Key, "message_id", e.MessageID, "type", e.Type, "dead_letter", e.ID}
	err := c.attempt(ctx, []Message{msg})
	if err == nil {
		if err := dl.Store.Succeeded(ctx, e.ID); err != nil {
			c.cfg.Logger.Error("parked message handled, but not recorded so", append(attrs, "error", err)...)
			return false
		}
		c.cfg.Logger.Info("parked message handled", attrs...)
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	class := deadletter.ClassOf(err)
	if class == deadletter.Unavailable {
		c.cfg.Logger.Warn("parked message waits for an unavailable dependency", append(attrs, "error", err)...)
		return false
	}
	status, level, serr := dl.Store.Failed(ctx, e, class, err)
	if serr != nil {
		c.cfg.Logger.Error("parked message failed, and the failure was not recorded", append(attrs, "error", serr)...)
		return false
	}
	attrs = append(attrs, "error_class", class, "level", level, "error", err)
	if status == deadletter.StatusDead {
		dl.Metrics.Dead(c.cfg.Name, class)
		c.cfg.Logger.Error("message dead-lettered", attrs...)
	} else {
		c.cfg.Logger.Warn("parked message failed again", attrs...)
	}
	return false
}

// storedMessage is what the dead-letter store keeps of m.
func storedMessage(handler string, m Message) deadletter.Message {
	headers := make(map[string]string, len(m.Metadata))
	for k, v := range m.Metadata {
		headers[k] = v
	}
	return deadletter.Message{
		Handler: handler, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key,
		MessageID: m.UUID, Type: messageType(m.Message), Payload: m.Payload, Headers: headers,
	}
}

// messageType is an event's type or a command's name, from the metadata.
func messageType(m *message.Message) string {
	if t := m.Metadata.Get(messages.HeaderEventType); t != "" {
		return t
	}
	return m.Metadata.Get("name") // the cqrs marshaler's command name
}
