// Package service wires orderflow together: it opens the connections a
// process needs and builds every component on them. All wiring lives here,
// so the roles in cmd/orderflow stay a few lines each.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/command/bus"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/command/outbox"
	"github.com/orderflow/orderflow/command/payments"
	"github.com/orderflow/orderflow/console"
	"github.com/orderflow/orderflow/graph"
	"github.com/orderflow/orderflow/internal/breaker"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/consumer"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/elastic"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/internal/retention"
	"github.com/orderflow/orderflow/internal/server"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/reconcile"
	"github.com/orderflow/orderflow/rest"
	"github.com/orderflow/orderflow/sagas"
	"github.com/orderflow/orderflow/timeline"
)

// Service holds the open connections of one process.
type Service struct {
	Config  config.Config
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	// Pools maps each bounded context to the pool of its database; contexts
	// sharing a database share the pool.
	Pools   map[config.Context]*pgxpool.Pool
	Elastic *elasticsearch.Client

	// SagaConfig tunes the order saga (deadlines, attempts).
	SagaConfig sagas.Config
	// SagaSender, if set, wraps the command bus as the saga sends on it:
	// tests put a broker outage between the saga and Kafka with it.
	SagaSender func(sagas.CommandSender) sagas.CommandSender

	// BatchMiddleware wraps the batch handler of every consumer on the
	// shared consumer loop (internal/consumer: the command topics', the
	// saga's, the projectors'): consumer.Duplicator, for instance.
	BatchMiddleware []consumer.Middleware

	distinct []*pgxpool.Pool

	consumerMetrics *kafka.ConsumerMetrics
	loopMetrics     *consumer.Metrics
	rejectedMetrics *bus.RejectedMetrics
	commandMetrics  *app.CommandMetrics
	deadLetters     *consumer.DeadLetters
	// Circuit breakers in front of Elasticsearch and the payment provider.
	esBreaker, paymentBreaker *breaker.Breaker

	stores    *handlers.Stores
	handlers  *handlers.Handlers
	publisher message.Publisher
	bus       *bus.Bus
	sagas     *sagas.Processor
	proj      *projections.Projector
	changes   *query.OrderChanges
	// completions measures end to end from the change feed (with changes).
	completions *app.CompletionTimes
	// topicsReady is set once EnsureTopics succeeded.
	topicsReady bool
	closers     []func() error
}

// Open connects to PostgreSQL and Elasticsearch and checks Kafka, failing
// with a message that names the server that is not reachable.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Service, error) {
	s := &Service{
		Config:  cfg,
		Logger:  logger,
		Metrics: prometheus.NewRegistry(),
		Pools:   map[config.Context]*pgxpool.Pool{},

		SagaConfig: sagas.DefaultConfig(),
	}
	s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.consumerMetrics = kafka.NewConsumerMetrics(s.Metrics)
	s.loopMetrics = consumer.NewMetrics(s.Metrics, s.consumerMetrics)
	s.rejectedMetrics = bus.NewRejectedMetrics(s.Metrics)
	s.commandMetrics = app.NewCommandMetrics(s.Metrics)
	dlMetrics := deadletter.NewMetrics(s.Metrics)
	breakers := breaker.NewMetrics(s.Metrics)
	s.esBreaker = breaker.New(breaker.Config{Name: "elasticsearch", Fails: breaker.NotCancelled}, breakers)
	s.paymentBreaker = breaker.New(breaker.Config{Name: "payment_provider", Fails: breaker.NotCancelled}, breakers)

	byURL := map[string]*pgxpool.Pool{}
	for _, c := range config.Contexts() {
		url := cfg.DatabaseURL(c)
		pool, ok := byURL[url]
		if !ok {
			var err error
			pool, err = postgres.Open(ctx, url)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("open %s database: %w", c, err)
			}
			byURL[url] = pool
			s.distinct = append(s.distinct, pool)
		}
		s.Pools[c] = pool
	}
	s.Metrics.MustRegister(postgres.NewPoolCollector(s.poolsByName()))
	s.deadLetters = &consumer.DeadLetters{
		Store:   deadletter.NewStore(s.Pools[config.Ordering], cfg.Namespace, cfg.RetryLevels),
		Metrics: dlMetrics,
	}
	s.ownDeadLetters()

	if err := kafka.Ping(cfg.KafkaBrokers); err != nil {
		s.Close()
		return nil, err
	}

	es, err := elastic.NewClientWith(cfg.ElasticsearchURL, func(rt http.RoundTripper) http.RoundTripper {
		return breaker.Transport{Next: rt, Breaker: s.esBreaker}
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	if err := elastic.Ping(ctx, es); err != nil {
		s.Close()
		return nil, fmt.Errorf("elasticsearch at %s: %w", cfg.ElasticsearchURL, err)
	}
	s.Elastic = es
	return s, nil
}

// poolsByName names each distinct pool by the contexts that share it
// ("inventory,ordering,payments" for the default single database).
func (s *Service) poolsByName() map[string]*pgxpool.Pool {
	names := map[*pgxpool.Pool][]string{}
	for _, c := range config.Contexts() {
		names[s.Pools[c]] = append(names[s.Pools[c]], string(c))
	}
	out := make(map[string]*pgxpool.Pool, len(names))
	for pool, cs := range names {
		slices.Sort(cs)
		out[strings.Join(cs, ",")] = pool
	}
	return out
}

// ReadinessChecks are the conditions of /readyz: every server reachable and
// every database migrated.
func (s *Service) ReadinessChecks() []server.Check {
	return []server.Check{
		{Name: "postgres", Run: func(ctx context.Context) error {
			for _, pool := range s.distinct {
				if err := pool.Ping(ctx); err != nil {
					return err
				}
				applied, err := postgres.MigrationsApplied(ctx, pool)
				if err != nil {
					return err
				}
				if !applied {
					return errors.New("migrations pending: run orderflow migrate")
				}
			}
			return nil
		}},
		{Name: "kafka", Run: func(context.Context) error { return kafka.Ping(s.Config.KafkaBrokers) }},
		{Name: "elasticsearch", Run: func(ctx context.Context) error { return elastic.Ping(ctx, s.Elastic) }},
	}
}

// Stores returns the event stores of the three contexts.
func (s *Service) Stores() handlers.Stores {
	if s.stores == nil {
		s.stores = &handlers.Stores{
			Ordering:  eventstore.New(s.Pools[config.Ordering], string(config.Ordering)),
			Inventory: eventstore.New(s.Pools[config.Inventory], string(config.Inventory)),
			Payments:  eventstore.New(s.Pools[config.Payments], string(config.Payments)),
		}
	}
	return *s.stores
}

// store is the event store of one context (Stores).
func (s *Service) store(c config.Context) *eventstore.Store {
	switch st := s.Stores(); c {
	case config.Inventory:
		return st.Inventory
	case config.Payments:
		return st.Payments
	default:
		return st.Ordering
	}
}

// Handlers returns the command handlers of every context (one set per
// process, so their aggregate caches are shared).
func (s *Service) Handlers() *handlers.Handlers {
	if s.handlers == nil {
		s.handlers = handlers.New(s.Stores(), time.Now, s.Logger)
		if f := s.Config.PaymentFaults; f.Enabled() {
			s.Logger.Warn("payment fault injection is on", "transient_error_rate", f.TransientErrorRate, "refusal_rate", f.RefusalRate, "latency", f.Latency)
			s.handlers.Provider = &payments.FaultyProvider{Next: payments.BalanceProvider{},
				TransientErrorRate: f.TransientErrorRate, RefusalRate: f.RefusalRate, Latency: f.Latency}
		}
		s.handlers.Provider = handlers.BreakerProvider{Next: s.handlers.Provider, Breaker: s.paymentBreaker}
	}
	return s.handlers
}

// EnsureTopics creates every command and event topic with
// TopicPartitions partitions if it does not exist yet (once per process).
func (s *Service) EnsureTopics() error {
	if s.topicsReady {
		return nil
	}
	var commands, events []string
	for _, t := range bus.CommandTopics() {
		commands = append(commands, s.Config.Topic(t))
	}
	for _, c := range config.Contexts() {
		events = append(events, s.Config.Topic(messages.EventsTopic(string(c))))
	}
	if err := kafka.EnsureTopics(s.Config.KafkaBrokers, TopicPartitions, commands...); err != nil {
		return err
	}
	if err := kafka.EnsureTopics(s.Config.KafkaBrokers, EventTopicPartitions, events...); err != nil {
		return err
	}
	s.topicsReady = true
	return nil
}

// TopicPartitions is the partition count of the command topics orderflow
// creates: the upper bound of consumers per group.
const TopicPartitions = 8

// EventTopicPartitions is the partition count of the event topics: the
// upper bound of consumers per group.
const EventTopicPartitions = 16

// Bus returns the command bus, creating its topics and publisher once.
func (s *Service) Bus() (*bus.Bus, error) {
	if s.bus != nil {
		return s.bus, nil
	}
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	pub, err := kafka.NewPublisher(s.Config.KafkaBrokers, "orderflow-commands", s.watermillLogger())
	if err != nil {
		return nil, err
	}
	b, err := bus.NewBus(pub, s.Config.Topic, s.watermillLogger())
	if err != nil {
		_ = pub.Close()
		return nil, err
	}
	s.publisher, s.bus = pub, b
	return b, nil
}

// Application returns the application seam over the command handlers
// (run in this process), the order sagas they start and the Elasticsearch
// read models.
func (s *Service) Application() (app.Application, error) {
	saga, err := s.Sagas()
	if err != nil {
		return app.Application{}, err
	}
	cfg := app.DefaultConfig()
	if s.Config.MaxPendingCommands > 0 {
		cfg.MaxPendingCommands = s.Config.MaxPendingCommands
	}
	cfg.Metrics = s.commandMetrics
	return app.New(cfg, s.Handlers(), saga, s.ReadModels(), s.Logger), nil
}

// ReadModels returns the Elasticsearch readers the queries are served from.
func (s *Service) ReadModels() app.ReadModels {
	read := app.ReadModels{
		Orders:    query.NewOrdersIndex(s.Elastic, s.Config.Index(string(projections.Orders))),
		Products:  query.NewProductsIndex(s.Elastic, s.Config.Index(string(projections.Products))),
		Customers: query.NewCustomersIndex(s.Elastic, s.Config.Index(string(projections.Customers))),
	}
	if s.changes != nil {
		read.Changes = s.changes
		read.Completions = s.completions
	}
	read.Reconciliation = reconcile.NewReportStore(s.Pools[config.Ordering], s.Config.Namespace)
	read.Timelines = timeline.NewReader(s.Pools)
	read.DeadLetters = s.deadLetters.Store
	read.Breakers = breaker.Set{s.esBreaker, s.paymentBreaker}
	if p, err := s.Projections(); err == nil {
		read.Projections = p
	} else {
		s.Logger.Error("projection status unavailable", "error", err)
	}
	return read
}

// OrderChangeRouter returns a router that follows the ordering events
// topic from its newest offset and signals live subscriptions of this
// process; every API instance runs one. Call it before Application, so the
// application serves subscriptions.
func (s *Service) OrderChangeRouter() (*message.Router, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	sub, err := kafka.NewTailSubscriber(s.Config.KafkaBrokers, "orderflow-api-live", s.watermillLogger())
	if err != nil {
		return nil, err
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 5 * time.Second}, s.watermillLogger())
	if err != nil {
		return nil, err
	}
	changes := query.NewOrderChanges()
	completions := app.NewCompletionTimes(nil)
	undecodable := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "orderflow_change_feed_undecodable_total",
		Help: "Events of the API's order change feed without a valid envelope or that do not decode (the subscribers still read the order from the event store when they can).",
	})
	if err := s.Metrics.Register(undecodable); err != nil {
		return nil, fmt.Errorf("register change feed metrics: %w", err)
	}
	router.AddConsumerHandler("api.order-changes", s.Config.Topic(messages.EventsTopic(string(config.Ordering))), sub,
		func(msg *message.Message) error {
			// Every order's placement and final event time its end to
			// end (estimated completion in the REST API).
			completions.Observe(msg.Metadata.Get(messages.HeaderStreamID), msg.Metadata.Get(messages.HeaderEventType),
				occurredAt(msg.Metadata.Get(messages.HeaderOccurredAt)))
			if !changes.Watched(msg.Metadata.Get(messages.HeaderStreamID)) {
				return nil // nobody here follows this order
			}
			// The feed only signals: a message it cannot read is logged
			// and counted (the consumers that act on it dead-letter it),
			// never dropped without a trace.
			env, err := messages.ParseEnvelope(msg.Metadata)
			if err != nil {
				undecodable.Inc()
				s.Logger.Error("change feed event without a valid envelope", "handler", "api.order-changes", "message_id", msg.UUID,
					"error_class", deadletter.Permanent, "error", err)
				return nil
			}
			// An event that cannot be decoded still signals the change:
			// the subscriber reads it from the event store.
			e, err := messages.DecodeEvent(env.EventType, msg.Payload)
			if err != nil {
				undecodable.Inc()
				s.Logger.Error("change feed event does not decode", "handler", "api.order-changes", "message_id", msg.UUID,
					"key", env.StreamID, "type", env.EventType, "error_class", deadletter.Permanent, "error", err)
				e = nil
			}
			changes.Notify(query.OrderChange{OrderID: env.StreamID, Version: env.Version, Event: e})
			return nil
		})
	s.changes, s.completions = changes, completions
	return router, nil
}

// occurredAt parses an event's recorded time; the zero time when absent
// or malformed (the observer then uses its own clock).
func occurredAt(header string) time.Time {
	at, err := time.Parse(time.RFC3339Nano, header)
	if err != nil {
		return time.Time{}
	}
	return at
}

// MountAPI serves GraphQL at /graphql (GraphiQL at /), REST under /api/ and
// the operator console under /console/.
func (s *Service) MountAPI(srv *server.Server) error {
	application, err := s.Application()
	if err != nil {
		return err
	}
	secret := []byte(s.Config.JWTSecret)
	api := graph.NewHandler(graph.NewResolver(application, s.Logger), graph.HandlerOptions{
		JWTSecret:     secret,
		Introspection: s.Config.Dev,
	})
	srv.Handle("/graphql", api)
	srv.Handle("GET /{$}", graph.Playground("/graphql"))
	ops, err := console.New(console.Options{
		GraphQL:     api,
		GraphQLPath: "/graphql",
		Readiness:   srv.Readiness,
		Logger:      s.Logger.With("component", "console"),
	})
	if err != nil {
		return err
	}
	srv.Handle(console.Prefix+"/", ops)
	srv.Handle("/api/", rest.NewHandler(application, secret, s.Logger))
	return nil
}

// Projections returns the Elasticsearch projector (one per process).
func (s *Service) Projections() (*projections.Projector, error) {
	if s.proj != nil {
		return s.proj, nil
	}
	cfg := projections.DefaultConfig(s.Config, s.Elastic, s.Pools, s.Metrics, s.Logger.With("component", "projections"))
	cfg.Breaker = s.esBreaker
	cfg.DeadLetters = s.deadLetters.Store
	p, err := projections.New(cfg)
	if err != nil {
		return nil, err
	}
	s.proj = p
	return p, nil
}

// ProjectorConsumer returns the live projectors' consumer of the three
// event topics, with the indexes in place; Run it to start consuming.
func (s *Service) ProjectorConsumer(ctx context.Context) (*consumer.Set, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	p, err := s.Projections()
	if err != nil {
		return nil, err
	}
	if err := p.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	return p.NewConsumer(projections.KafkaSource{
		Brokers: s.Config.KafkaBrokers, ClientID: "orderflow-projector",
		Topic: s.Config.Topic, Group: s.Config.ConsumerGroup,
		Metrics: s.loopMetrics, Middleware: s.BatchMiddleware, DeadLetters: s.deadLetters,
	})
}

// Reconciler returns the reconciliation job (package reconcile) over
// every context's database and the read models, healing through this
// process's projector and order sagas.
func (s *Service) Reconciler(cfg reconcile.Config) (*reconcile.Reconciler, error) {
	p, err := s.Projections()
	if err != nil {
		return nil, err
	}
	saga, err := s.Sagas()
	if err != nil {
		return nil, err
	}
	return reconcile.New(cfg, reconcile.Deps{
		Pools: s.Pools, Elastic: s.Elastic, Index: s.Config.Index, Namespace: s.Config.Namespace,
		Projections: p, Sagas: saga, Metrics: s.Metrics, Logger: s.Logger.With("component", "reconcile"),
	})
}

// Sagas returns the order saga processor.
func (s *Service) Sagas() (*sagas.Processor, error) {
	if s.sagas != nil {
		return s.sagas, nil
	}
	b, err := s.Bus()
	if err != nil {
		return nil, err
	}
	var sender sagas.CommandSender = b
	if s.SagaSender != nil {
		sender = s.SagaSender(sender)
	}
	s.sagas = sagas.NewProcessor(s.SagaConfig, s.Pools[config.Ordering], s.Handlers(), sender, s.Metrics, s.Logger.With("component", "saga"))
	return s.sagas, nil
}

// SagaConsumer returns the order saga's consumers of the three event
// topics; Run it to start consuming. The saga's deadlines run apart, in
// Sagas().RunDeadlines.
func (s *Service) SagaConsumer() (*consumer.Set, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	saga, err := s.Sagas()
	if err != nil {
		return nil, err
	}
	var cs []*consumer.Consumer
	for _, sub := range sagas.Subscriptions() {
		c, err := s.newConsumer(sub.Name, "orderflow-saga", saga.HandleBatch, s.Config.Topic(sub.Topic))
		if err != nil {
			consumer.NewSet(cs...).Close()
			return nil, err
		}
		cs = append(cs, c)
	}
	return consumer.NewSet(cs...), nil
}

// newConsumer returns a consumer on the consumer loop: group name (the
// handler's name, namespaced), the process's metrics, BatchMiddleware
// around h.
func (s *Service) newConsumer(name, clientID string, h consumer.Handler, topics ...string) (*consumer.Consumer, error) {
	for _, mw := range s.BatchMiddleware {
		h = mw(h)
	}
	return consumer.New(consumer.Config{
		Name: name, Group: s.Config.ConsumerGroup(name), Topics: topics,
		Brokers: s.Config.KafkaBrokers, ClientID: clientID,
		Metrics: s.loopMetrics, Logger: s.Logger.With("component", "consumer"),
		DeadLetters: s.deadLetters,
	}, h)
}

// DeadLetters returns where the consumers park what they cannot handle
// (package deadletter; the store is in the ordering database). Tests may
// tune its InPlaceRetries and PollInterval before building consumers.
func (s *Service) DeadLetters() *consumer.DeadLetters { return s.deadLetters }

// ownDeadLetters registers the owners of the dead letters other components
// keep: the relays' blocked streams (a replay asks the active relay to
// retry the stream) and the projections' held documents (a replay
// re-projects the aggregate from the event store).
func (s *Service) ownDeadLetters() {
	store := s.deadLetters.Store
	for _, c := range config.Contexts() {
		outbox.OwnDeadLetters(store, s.Pools[c], string(c))
	}
	for _, n := range projections.Names() {
		store.SetOwner(projections.DocumentsHandler(n), deadletter.Owner{Replay: func(ctx context.Context, id string) error {
			p, err := s.Projections()
			if err != nil {
				return err
			}
			return p.Reproject(ctx, n, id)
		}})
	}
}

// RetentionJob returns the job pruning replayed and discarded dead
// letters, handled inbox rows and processed-event rows older than
// Config.Retention.
func (s *Service) RetentionJob() *retention.Job {
	tables := []retention.Table{{Pool: s.Pools[config.Ordering], Name: "sagas.processed_events", Column: "processed_at"}}
	for _, c := range config.Contexts() {
		tables = append(tables, retention.Table{Pool: s.Pools[c], Name: string(c) + ".inbox", Column: "processed_at"})
	}
	return retention.New(retention.Config{
		Window: s.Config.Retention, Tables: tables, DeadLetters: s.deadLetters.Store,
		Logger: s.Logger.With("component", "retention"),
	}, s.Metrics)
}

// DeadLetterMonitor keeps the dead-letter gauges (parked, oldest parked
// age, dead letters) current for the worker's handlers and any other with
// open entries; run it in one role per deployment (the worker).
func (s *Service) DeadLetterMonitor() func(ctx context.Context) error {
	handlerNames := []string{handlers.InventoryCommandsHandler, handlers.PaymentsCommandsHandler}
	for _, sub := range sagas.Subscriptions() {
		handlerNames = append(handlerNames, sub.Name)
	}
	return func(ctx context.Context) error {
		return deadletter.Monitor(ctx, s.deadLetters.Store, s.deadLetters.Metrics, handlerNames, 15*time.Second, s.Logger.With("component", "deadletters"))
	}
}

// DeadLetterStore returns the dead-letter store.
func (s *Service) DeadLetterStore() *deadletter.Store { return s.deadLetters.Store }

// Relays returns one outbox relay per context, publishing its events topic.
func (s *Service) Relays() ([]*outbox.Relay, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	var relays []*outbox.Relay
	for _, c := range config.Contexts() {
		pub := outbox.NewKafkaPublisher(s.Config.KafkaBrokers, "orderflow-relay-"+string(c))
		s.closers = append(s.closers, pub.Close)
		r, err := outbox.New(s.Pools[c], pub, outbox.Config{
			Schema:   string(c),
			Topic:    s.Config.Topic(messages.EventsTopic(string(c))),
			Appended: s.store(c).Appended(),

			DeadLetters: s.deadLetters.Store,
		}, s.Logger.With("component", "relay"), s.Metrics)
		if err != nil {
			return nil, err
		}
		relays = append(relays, r)
	}
	return relays, nil
}

// CommandProcessor returns the consumers of the command topics, one
// consumer group per context (inventory, payments), each handling a batch
// of its partition's commands in one transaction; Run it to start
// consuming.
func (s *Service) CommandProcessor() (*bus.Processor, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	return bus.NewProcessor(bus.ProcessorConfig{
		Brokers: s.Config.KafkaBrokers, ClientID: "orderflow-worker",
		Topic: s.Config.Topic, Group: s.Config.ConsumerGroup,
		Metrics: s.loopMetrics, Rejected: s.rejectedMetrics,
		Middleware: s.BatchMiddleware, DeadLetters: s.deadLetters,
		Logger: s.Logger.With("component", "commands"),
	}, s.Handlers().BusHandlers()...)
}

func (s *Service) watermillLogger() watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(s.Logger.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}

// Close releases every connection, once the saga's commands being sent in
// the background have been sent (they need the publisher).
func (s *Service) Close() {
	if s.sagas != nil {
		s.sagas.Drain()
	}
	if s.publisher != nil {
		_ = s.publisher.Close()
	}
	for _, c := range s.closers {
		_ = c()
	}
	for _, pool := range s.distinct {
		pool.Close()
	}
}
