// Package bus carries commands over Kafka with watermill's cqrs component.
// Every command type has its own topic, keyed by the aggregate id, so the
// commands of one aggregate reach one consumer at a time, in order.
package bus

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/messages"
)

// Namer maps a base topic or group name into the deployment's namespace
// (config.Config.Topic / ConsumerGroup).
type Namer func(name string) string

// CommandTopic is the base topic of a command, e.g.
// "inventory.ReserveStock" -> "orderflow.inventory.commands.ReserveStock".
func CommandTopic(commandName string) string {
	context, name, ok := strings.Cut(commandName, ".")
	if !ok {
		return "orderflow.commands." + commandName
	}
	return "orderflow." + context + ".commands." + name
}

// CommandTopics lists the base topics of every command, to create them
// with a fixed partition count before anyone subscribes.
func CommandTopics() []string {
	var topics []string
	for _, name := range messages.CommandNames() {
		topics = append(topics, CommandTopic(name))
	}
	return topics
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
			return topic(CommandTopic(p.CommandName)), nil
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
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("send %s for %s: %w", cmd.CommandName(), cmd.AggregateID(), err)
	}
	return id, nil
}

// SubscriberFactory returns the subscriber of one handler; its consumer
// group is the handler name.
type SubscriberFactory func(handlerName string) (message.Subscriber, error)

// NewProcessor adds every handler to router, each consuming its command's
// topic in a consumer group named after the handler.
func NewProcessor(router *message.Router, newSubscriber SubscriberFactory, topic Namer, logger watermill.LoggerAdapter, hs ...cqrs.CommandHandler) error {
	p, err := cqrs.NewCommandProcessorWithConfig(router, cqrs.CommandProcessorConfig{
		GenerateSubscribeTopic: func(p cqrs.CommandProcessorGenerateSubscribeTopicParams) (string, error) {
			return topic(CommandTopic(p.CommandName)), nil
		},
		SubscriberConstructor: func(p cqrs.CommandProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			return newSubscriber(p.HandlerName)
		},
		Marshaler: marshaler,
		Logger:    logger,
	})
	if err != nil {
		return fmt.Errorf("create command processor: %w", err)
	}
	if err := p.AddHandlers(hs...); err != nil {
		return fmt.Errorf("add command handlers: %w", err)
	}
	return nil
}

// NewRouter returns a router with the middleware every consumer shares:
// panics become errors, and a failing message is retried with exponential
// backoff before it is nacked (and redelivered: a nack keeps the
// partition's order).
func NewRouter(logger watermill.LoggerAdapter) (*message.Router, error) {
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, logger)
	if err != nil {
		return nil, fmt.Errorf("create router: %w", err)
	}
	r.AddMiddleware(
		middleware.Recoverer,
		middleware.Retry{
			MaxRetries:      5,
			InitialInterval: 20 * time.Millisecond,
			MaxInterval:     2 * time.Second,
			Multiplier:      2,
			Logger:          logger,
		}.Middleware,
	)
	return r, nil
}
