package outbox

import (
	"context"
	"errors"
	"fmt"
	"github.com/orderflow/orderflow/internal/deadletter"
	"regexp"
	"time"
)

// Defaults of the Config fields left at their zero value.
const (
	// DefaultName is the relay name of a context's one Kafka relay.
	DefaultName = "kafka"
	// DefaultBatchSize bounds the events read and published per round
	// trip: large enough that Kafka batches well, small enough that a
	// crash re-publishes little.
	DefaultBatchSize = 500
	// DefaultPollInterval is the longest wait between two reads of an
	// idle relay, so the latency of the first event after a quiet spell
	// when it was appended by another process (writers in the relay's own
	// process wake it at once: Config.Appended). Idle, the relay costs
	// one cheap query per interval.
	DefaultPollInterval = 250 * time.Millisecond
	// DefaultLockRetryInterval is how often a standby instance tries to
	// take over the lock; it bounds the fail-over time.
	DefaultLockRetryInterval = time.Second
	// DefaultMinPollInterval is the wait after a read that took every
	// visible event (a batch short of BatchSize) or found nothing; it
	// doubles on every further empty read up to PollInterval (at most
	// 10 ms while committed events wait behind an older open
	// transaction). With DefaultWakeDelay it makes a relay read at most
	// about 50 times a second while events flow, each read taking what
	// the last 20 ms appended: at 100 orders/s the relays' reads and
	// checkpoint writes fell from about 3 to 1.5 per order, and CPU per
	// order from 17.6/15.8 to 14.3/14.4 ms for all processes (Kafka
	// 3.0 -> 2.2 ms, fewer and fuller produce requests), with the
	// end-to-end median at about 90 ms (60 and 95 ms before;
	// docs/benchmarks.md, "2026-12-01, late morning"; it was 1 ms).
	DefaultMinPollInterval = 20 * time.Millisecond
	// DefaultWakeDelay is how long the relay waits after an Appended
	// signal before it reads: the signal comes when an append is queued,
	// a few ms before its transaction commits, and appends made meanwhile
	// share the read, the checkpoint and the produce request (see
	// DefaultMinPollInterval; it was 3 ms).
	DefaultWakeDelay = 20 * time.Millisecond
	// DefaultPublishRetryInterval is the first delay after a failed
	// publish; it doubles up to MaxPublishRetryInterval.
	DefaultPublishRetryInterval = 100 * time.Millisecond
	// DefaultMaxPublishRetryInterval caps the publish retry delay.
	DefaultMaxPublishRetryInterval = 10 * time.Second
)

// Config says what one relay publishes where. The zero value of every
// optional field means its default.
type Config struct {
	// Schema is the bounded context's schema, whose events table is the
	// outbox (ordering, inventory or payments). Required.
	Schema string
	// Topic is the Kafka topic the events go to, usually
	// config.Config.Topic(messages.EventsTopic(schema)). Required.
	Topic string
	// Name identifies the relay: its checkpoint row in
	// <schema>.relay_checkpoints and its advisory lock. Instances with the
	// same Schema and Name are one relay with standbys; a different Name
	// is an independent relay that publishes everything again. Default
	// DefaultName.
	Name string
	// BatchSize is the most events read and published at once. Default
	// DefaultBatchSize.
	BatchSize int
	// Appended, when set, signals that events may have been appended by a
	// writer in this process (eventstore.Store.Appended): the relay reads
	// at once, then again after MinPollInterval, doubling, until the
	// commit is visible, instead of waiting out PollInterval.
	Appended <-chan struct{}
	// PollInterval is the longest the relay waits between two reads.
	// Default DefaultPollInterval.
	PollInterval time.Duration
	// LockRetryInterval is how often a standby tries to take the lock, and
	// the pause before reconnecting after a lost connection. Default
	// DefaultLockRetryInterval.
	LockRetryInterval time.Duration
	// MinPollInterval is the first wait after a read that found nothing
	// to publish. Default DefaultMinPollInterval.
	MinPollInterval time.Duration
	// WakeDelay is the wait between an Appended signal and the read it
	// causes. Default DefaultWakeDelay; negative reads at once.
	WakeDelay time.Duration
	// PublishRetryInterval is the first delay after a failed publish.
	// Default DefaultPublishRetryInterval.
	PublishRetryInterval time.Duration
	// MaxPublishRetryInterval caps the growing publish retry delay.
	// Default DefaultMaxPublishRetryInterval.
	MaxPublishRetryInterval time.Duration
	// DeadLetters, when set, shows the relay's blocked streams in the
	// dead-letter store (handler DeadLetterHandler(Schema)), where an
	// operator replays them; the relay's own table stays the truth of
	// what it holds back.
	DeadLetters DeadLetters
}

// DeadLetters is the dead-letter store as a relay sees it
// (deadletter.Store).
type DeadLetters interface {
	Mirror(ctx context.Context, m deadletter.Message, cause error) error
	Resolve(ctx context.Context, handler, key string) error
}

// DeadLetterHandler is the dead-letter handler name of schema's relay.
func DeadLetterHandler(schema string) string { return schema + ".relay" }

var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.LockRetryInterval == 0 {
		c.LockRetryInterval = DefaultLockRetryInterval
	}
	if c.MinPollInterval == 0 {
		c.MinPollInterval = DefaultMinPollInterval
	}
	if c.WakeDelay == 0 {
		c.WakeDelay = DefaultWakeDelay
	}
	if c.PublishRetryInterval == 0 {
		c.PublishRetryInterval = DefaultPublishRetryInterval
	}
	if c.MaxPublishRetryInterval == 0 {
		c.MaxPublishRetryInterval = DefaultMaxPublishRetryInterval
	}
	return c
}

// validate reports every problem at once.
func (c Config) validate() error {
	var errs []error
	if !identifier.MatchString(c.Schema) {
		errs = append(errs, fmt.Errorf("schema %q is not a lower-case SQL identifier", c.Schema))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("topic is empty"))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size %d is below 1", c.BatchSize))
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"poll interval", c.PollInterval},
		{"lock retry interval", c.LockRetryInterval},
		{"min poll interval", c.MinPollInterval},
		{"publish retry interval", c.PublishRetryInterval},
		{"max publish retry interval", c.MaxPublishRetryInterval},
	} {
		if d.value < 0 {
			errs = append(errs, fmt.Errorf("%s %s is negative", d.name, d.value))
		}
	}
	if c.MaxPublishRetryInterval < c.PublishRetryInterval {
		errs = append(errs, fmt.Errorf("max publish retry interval %s is below publish retry interval %s", c.MaxPublishRetryInterval, c.PublishRetryInterval))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid outbox relay config: %w", err)
	}
	return nil
}

// lockKey names the relay's advisory lock; hashed to a bigint in SQL.
func (c Config) lockKey() string { return "orderflow.outbox." + c.Schema + "." + c.Name }
