// Package bus carries the commands that cross bounded contexts (the order
// saga's to inventory and payments) over Kafka, with watermill's cqrs
// command bus and JSON marshaler for the wire format. Each context has one
// command topic, keyed by the aggregate id, so the commands of one
// aggregate are in one partition, in order, and one consumer group that
// reads it in batches through the shared consumer loop and dispatches by
// command name (see Processor).
package bus

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
)

// Namer maps a base topic or group name into the deployment's namespace
// (config.Config.Topic / ConsumerGroup).
type Namer func(name string) string

// CommandContexts are the contexts that receive commands over the bus.
// The ordering context has no command topic: the API runs its commands in
// process and the saga runs them in its own transaction.
var CommandContexts = []string{"inventory", "payments"}

// CommandTopic is the base topic of a context's commands, e.g.
// "inventory" -> "orderflow.inventory.commands".
func CommandTopic(context string) string {
	return "orderflow." + context + ".commands"
}

// CommandTopics lists the base topics of the command bus, to create them
// with a fixed partition count before anyone subscribes.
func CommandTopics() []string {
	var topics []string
	for _, c := range CommandContexts {
		topics = append(topics, CommandTopic(c))
	}
	return topics
}

// topicOf returns the base topic of a command, by the context its name
// starts with ("inventory.ReserveStock"); ok is false for a context
// without a command topic.
func topicOf(commandName string) (topic string, ok bool) {
	context, _, _ := strings.Cut(commandName, ".")
	if !slices.Contains(CommandContexts, context) {
		return "", false
	}
	return CommandTopic(context), true
}

func commandName(v any) string {
	if c, ok := v.(messages.Command); ok {
		return c.CommandName()
	}
	return cqrs.FullyQualifiedStructName(v)
}

var marshaler = cqrs.JSONMarshaler{GenerateName: commandName}

// Bus sends commands.
type Bus struct {
	bus *cqrs.CommandBus
}

// NewBus returns a bus publishing with pub into topics named by topic.
func NewBus(pub message.Publisher, topic Namer, logger watermill.LoggerAdapter) (*Bus, error) {
	b, err := cqrs.NewCommandBusWithConfig(pub, cqrs.CommandBusConfig{
		GeneratePublishTopic: func(p cqrs.CommandBusGeneratePublishTopicParams) (string, error) {
			t, ok := topicOf(p.CommandName)
			if !ok {
				return "", fmt.Errorf("command %s has no command topic: its context runs it in process", p.CommandName)
			}
			return topic(t), nil
		},
		OnSend: func(p cqrs.CommandBusOnSendParams) error {
			cmd, ok := p.Command.(messages.Command)
			if !ok {
				return fmt.Errorf("%T is not a messages.Command", p.Command)
			}
			if cmd.AggregateID() == "" {
				return fmt.Errorf("command %s has no aggregate id", cmd.CommandName())
			}
			p.Message.Metadata.Set(kafka.PartitionKeyHeader, cmd.AggregateID())
			return nil
		},
		Marshaler: marshaler,
		Logger:    logger,
	})
	if err != nil {
		return nil, fmt.Errorf("create command bus: %w", err)
	}
	return &Bus{bus: b}, nil
}

// Envelope sets the message id and correlation id of a command. A sender
// that may send the same command again (the saga on a timeout) passes a
// stable ID, so the handler's inbox recognises the repeat.
type Envelope struct {
	MessageID     string
	CorrelationID string
}

// Send publishes cmd and returns its message id once Kafka acknowledged it.
func (b *Bus) Send(ctx context.Context, cmd messages.Command, env Envelope) (string, error) {
	id := env.MessageID
	if id == "" {
		id = watermill.NewUUID()
	}
	err := b.bus.SendWithModifiedMessage(ctx, cmd, func(m *message.Message) error {
		m.UUID = id
		if env.CorrelationID != "" {
			m.Metadata.Set(handlers.MetadataCorrelationID, env.CorrelationID)
		}
		for k, v := range tracing.Headers(tracing.Carry(ctx)) {
			m.Metadata.Set(k, v)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("send %s for %s: %w", cmd.CommandName(), cmd.AggregateID(), err)
	}
	return id, nil
}
