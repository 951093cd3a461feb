package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
)

// ProcessorConfig is what the command consumers of a process share.
type ProcessorConfig struct {
	Brokers  []string
	ClientID string
	// Topic and Group map base names into the deployment's namespace.
	Topic, Group Namer
	// MaxBatch bounds the commands handled in one transaction (the
	// consumer loop's default if zero).
	MaxBatch int
	// Metrics are the consumer loop's metrics of this process.
	Metrics *consumer.Metrics
	// Rejected counts the commands no handler could take.
	Rejected *RejectedMetrics
	// DeadLetters, when set, parks what the handlers cannot handle.
	DeadLetters *consumer.DeadLetters
	// Middleware wraps every consumer's batch handler.
	Middleware []consumer.Middleware
	Logger     *slog.Logger
	// CombineLinger is how long a consumer waits for other partitions'
	// commands to share the transaction with (consumer.Config).
	CombineLinger time.Duration
	// CombineParallel bounds its combined calls at once (consumer.Config).
	CombineParallel int
}

// Processor consumes the command topics: one consumer group per context,
// named after its handler, each reading its context's topic in batches
// through the shared consumer loop.
type Processor struct {
	consumers []*consumer.Consumer
	running   chan struct{}
}

// NewProcessor returns the consumers of hs, one per context.
func NewProcessor(cfg ProcessorConfig, hs ...handlers.BusHandler) (*Processor, error) {
	p := &Processor{running: make(chan struct{})}
	for _, bh := range hs {
		if !slices.Contains(CommandContexts, bh.Context) {
			return nil, fmt.Errorf("command handler %s: context %q has no command topic", bh.Name, bh.Context)
		}
		h := Dispatch(bh, cfg.Rejected, cfg.Logger)
		for _, mw := range cfg.Middleware {
			h = mw(h)
		}
		c, err := consumer.New(consumer.Config{
			Name:     bh.Name,
			Group:    cfg.Group(bh.Name),
			Topics:   []string{cfg.Topic(CommandTopic(bh.Context))},
			Brokers:  cfg.Brokers,
			ClientID: cfg.ClientID,
			MaxBatch: cfg.MaxBatch,
			Metrics:  cfg.Metrics,
			Logger:   cfg.Logger,
			// The partitions' ready commands in one transaction
			// (handlers.ExecuteBatch).
			Combine: true, CombineLinger: cfg.CombineLinger, CombineParallel: cfg.CombineParallel,

			DeadLetters: cfg.DeadLetters,
		}, h)
		if err != nil {
			return nil, fmt.Errorf("command handler %s: %w", bh.Name, err)
		}
		p.consumers = append(p.consumers, c)
	}
	return p, nil
}

// Running is closed once every consumer has joined its group.
func (p *Processor) Running() <-chan struct{} { return p.running }

// Run consumes until ctx ends.
func (p *Processor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(p.consumers))
	for i, c := range p.consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Run(ctx)
		}()
	}
	go func() {
		for _, c := range p.consumers {
			select {
			case <-c.Running():
			case <-ctx.Done():
				return
			}
		}
		close(p.running)
	}()
	wg.Wait()
	return errors.Join(errs...)
}

// Rejection reasons, the label of RejectedMetrics.
const (
	rejectedUnknown     = "unknown_command"
	rejectedUndecodable = "undecodable"
)

// RejectedMetrics counts the commands the bus could not hand to a handler.
type RejectedMetrics struct {
	rejected *prometheus.CounterVec
}

// NewRejectedMetrics registers the counter with reg (nil: unregistered).
func NewRejectedMetrics(reg prometheus.Registerer) *RejectedMetrics {
	m := &RejectedMetrics{rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "orderflow_commands_rejected_total",
		Help: "Commands skipped because their name is not one the consuming handler executes, or their payload does not decode.",
	}, []string{"handler", "reason"})}
	if reg != nil {
		reg.MustRegister(m.rejected)
	}
	return m
}

// Dispatch returns the consumer loop's handler for bh: it decodes each
// message of a batch into its command (the name from the cqrs marshaler's
// metadata, the payload as JSON) and hands the batch, in order, to bh. A
// message with a command name bh does not execute, or a payload that does
// not decode, can never succeed: its batch fails with a permanent error
// (package deadletter), the loop isolates it, and it is logged as an
// error, counted and dead-lettered, while the partition keeps flowing.
func Dispatch(bh handlers.BusHandler, rejected *RejectedMetrics, logger *slog.Logger) consumer.Handler {
	if rejected == nil {
		rejected = NewRejectedMetrics(nil)
	}
	return func(ctx context.Context, batch []consumer.Message) error {
		received := make([]handlers.Received, 0, len(batch))
		for _, m := range batch {
			name := marshaler.NameFromMessage(m.Message)
			reason := ""
			cmd, err := messages.DecodeCommand(name, m.Payload)
			switch {
			case err != nil && !slices.Contains(commandNames, name):
				reason = rejectedUnknown
			case err != nil:
				reason = rejectedUndecodable
			case !bh.Accepts(cmd):
				reason, err = rejectedUnknown, fmt.Errorf("command %s is not executed by %s", name, bh.Name)
			}
			if reason != "" {
				if len(batch) > 1 {
					// The loop splits the batch down to this message.
					return deadletter.Permanentf("batch holds command %s (message %s) that %s cannot execute: %v", name, m.UUID, bh.Name, err)
				}
				rejected.rejected.WithLabelValues(bh.Name, reason).Inc()
				logger.ErrorContext(ctx, "command rejected", "handler", bh.Name, "topic", m.Topic, "partition", m.Partition,
					"offset", m.Offset, "message_id", m.UUID, "type", name, "reason", reason, "error_class", deadletter.Permanent, "error", err)
				return deadletter.Permanentf("%s: command %s: %v", reason, name, err)
			}
			received = append(received, handlers.Received{
				ID: m.UUID, CorrelationID: m.Metadata.Get(handlers.MetadataCorrelationID), Command: cmd,
				Trace: tracing.Headers(m.Metadata),
			})
		}
		if len(received) == 0 {
			return nil
		}
		return bh.Handle(ctx, received)
	}
}

var commandNames = messages.CommandNames()
