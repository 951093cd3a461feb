// Package service wires orderflow together: it opens the connections a
// process needs and builds every component on them. All wiring lives here,
// so the roles in cmd/orderflow stay a few lines each.
//
// A process is built in the order this file reads: Open (connections and
// the components every role shares, tuned by Options), then the
// components of its roles, each given what it depends on: NewProjector,
// OpenSagas, OpenChangeFeed, Application(saga, projector, feed),
// MountAPI, CommandProcessor, SagaConsumer(saga), ProjectorConsumer,
// Reconciler, Relays. Nothing is set on a Service after Open, and no
// constructor needs another to have been called first.
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
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/command/outbox"
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

// Option tunes the components of a process; Open takes them and the
// components are built with them. The binary passes none; tests use them
// to inject faults and to shorten timings.
type Option func(*options)

// options are what the Options set; Open starts from what the binary runs
// with (sagas.DefaultConfig, zero for the others: the components'
// defaults).
type options struct {
	saga       sagas.Config
	sagaSender func(sagas.CommandSender) sagas.CommandSender
	middleware []consumer.Middleware
	provider   payments.Provider
	providerTO time.Duration
	pollEvery  time.Duration
}

// WithSagaConfig adjusts the order saga's configuration (deadlines,
// attempts), starting from sagas.DefaultConfig.
func WithSagaConfig(adjust func(*sagas.Config)) Option {
	return func(o *options) { adjust(&o.saga) }
}

// WithSagaSender wraps the command bus as the saga sends on it: tests put
// a broker outage between the saga and Kafka with it.
func WithSagaSender(wrap func(sagas.CommandSender) sagas.CommandSender) Option {
	return func(o *options) { o.sagaSender = wrap }
}

// WithBatchMiddleware wraps the batch handler of every consumer on the
// shared consumer loop (internal/consumer: the command topics', the
// saga's, the projectors'): consumer.Duplicator, for instance. Several
// calls add up, applied in order.
func WithBatchMiddleware(mw ...consumer.Middleware) Option {
	return func(o *options) { o.middleware = append(o.middleware, mw...) }
}

// WithPaymentProvider replaces the payment provider the circuit breaker
// guards (by default payments.BalanceProvider, or the faulty one
// Config.PaymentFaults asks for).
func WithPaymentProvider(p payments.Provider) Option {
	return func(o *options) { o.provider = p }
}

// WithPaymentTimeout bounds one call to the payment provider (default: the
// command handlers' own).
func WithPaymentTimeout(d time.Duration) Option {
	return func(o *options) { o.providerTO = d }
}

// WithDeadLetterPolling sets the shortest wait between two rounds of the
// consumers' dead-letter scheduler (default 1 s).
func WithDeadLetterPolling(d time.Duration) Option {
	return func(o *options) { o.pollEvery = d }
}

// Service is one process's open connections and the components every
// role builds on: the metrics, the circuit breakers, the event stores, the
// command handlers and the dead-letter store. Open builds all of them; the
// role-specific components that open Kafka clients or register their own
// metrics (the projector, the order saga, the consumers, the relays, the
// change feed) are built by the constructors below, from what they are
// given.
type Service struct {
	Config  config.Config
	Logger  *slog.Logger
	Metrics *prometheus.Registry
	// Pools maps each bounded context to the pool of its database; contexts
	// sharing a database share the pool.
	Pools   map[config.Context]*pgxpool.Pool
	Elastic *elasticsearch.Client

	opts     options
	distinct []*pgxpool.Pool

	consumerMetrics *kafka.ConsumerMetrics
	loopMetrics     *consumer.Metrics
	rejectedMetrics *bus.RejectedMetrics
	commandMetrics  *app.CommandMetrics
	// Circuit breakers in front of Elasticsearch and the payment provider.
	esBreaker, paymentBreaker *breaker.Breaker

	stores      handlers.Stores
	handlers    *handlers.Handlers
	deadLetters *consumer.DeadLetters

	// topicsReady is set once EnsureTopics succeeded.
	topicsReady bool
	// closers run at Close, last opened first.
	closers []func()
}

// Open connects to PostgreSQL and Elasticsearch and checks Kafka, failing
// with a message that names the server that is not reachable, then builds
// the components every role shares.
func Open(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (*Service, error) {
	o := options{saga: sagas.DefaultConfig()}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Service{
		Config:  cfg,
		Logger:  logger,
		Metrics: prometheus.NewRegistry(),
		Pools:   map[config.Context]*pgxpool.Pool{},
		opts:    o,
	}
	s.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.consumerMetrics = kafka.NewConsumerMetrics(s.Metrics)
	s.loopMetrics = consumer.NewMetrics(s.Metrics, s.consumerMetrics)
	s.rejectedMetrics = bus.NewRejectedMetrics(s.Metrics)
	s.commandMetrics = app.NewCommandMetrics(s.Metrics)
	breakers := breaker.NewMetrics(s.Metrics)
	s.esBreaker = breaker.New(breaker.Config{Name: "elasticsearch", Fails: breaker.NotCancelled}, breakers)
	s.paymentBreaker = breaker.New(breaker.Config{Name: "payment_provider", Fails: breaker.NotCancelled}, breakers)

	if err := s.openPools(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.Metrics.MustRegister(postgres.NewPoolCollector(s.poolsByName()))
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

	s.stores = handlers.Stores{
		Ordering:  eventstore.New(s.Pools[config.Ordering], string(config.Ordering)),
		Inventory: eventstore.New(s.Pools[config.Inventory], string(config.Inventory)),
		Payments:  eventstore.New(s.Pools[config.Payments], string(config.Payments)),
	}
	s.handlers = s.newHandlers()
	s.deadLetters = &consumer.DeadLetters{
		Store:        deadletter.NewStore(s.Pools[config.Ordering], cfg.Namespace, cfg.RetryLevels),
		Metrics:      deadletter.NewMetrics(s.Metrics),
		PollInterval: o.pollEvery,
	}
	// A replay of a relay's blocked stream asks the active relay to retry
	// it (the projections' held documents get their owner in NewProjector).
	for _, c := range config.Contexts() {
		outbox.OwnDeadLetters(s.deadLetters.Store, s.Pools[c], string(c))
	}
	return s, nil
}

// openPools opens one pool per distinct database URL.
func (s *Service) openPools(ctx context.Context) error {
	byURL := map[string]*pgxpool.Pool{}
	for _, c := range config.Contexts() {
		url := s.Config.DatabaseURL(c)
		pool, ok := byURL[url]
		if !ok {
			var err error
			pool, err = postgres.Open(ctx, url)
			if err != nil {
				return fmt.Errorf("open %s database: %w", c, err)
			}
			byURL[url] = pool
			s.distinct = append(s.distinct, pool)
		}
		s.Pools[c] = pool
	}
	return nil
}

// newHandlers returns the command handlers of every context (one set per
// process, so their aggregate caches are shared), asking the payment
// provider through its circuit breaker.
func (s *Service) newHandlers() *handlers.Handlers {
	h := handlers.New(s.stores, time.Now, s.Logger)
	if s.opts.providerTO > 0 {
		h.ProviderTimeout = s.opts.providerTO
	}
	switch f := s.Config.PaymentFaults; {
	case s.opts.provider != nil:
		h.Provider = s.opts.provider
	case f.Enabled():
		s.Logger.Warn("payment fault injection is on", "transient_error_rate", f.TransientErrorRate, "refusal_rate", f.RefusalRate, "latency", f.Latency)
		h.Provider = &payments.FaultyProvider{Next: payments.BalanceProvider{},
			TransientErrorRate: f.TransientErrorRate, RefusalRate: f.RefusalRate, Latency: f.Latency}
	}
	h.Provider = handlers.BreakerProvider{Next: h.Provider, Breaker: s.paymentBreaker}
	return h
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
func (s *Service) Stores() handlers.Stores { return s.stores }

// Handlers returns the command handlers of every context.
func (s *Service) Handlers() *handlers.Handlers { return s.handlers }

// DeadLetterStore returns the dead-letter store (in the ordering
// database).
func (s *Service) DeadLetterStore() *deadletter.Store { return s.deadLetters.Store }

// EnsureTopics creates every command and event topic with
// TopicPartitions partitions if it does not exist yet. Every constructor
// of a Kafka client below calls it; it asks Kafka once per process.
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

// OpenBus opens a command bus on a publisher of its own (closed by Close).
func (s *Service) OpenBus() (*bus.Bus, error) {
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
	s.onClose(func() { _ = pub.Close() })
	return b, nil
}

// OpenSagas returns the order saga processor, sending the commands it does
// not run itself on a command bus of its own. Build one per process: the
// API starts sagas on it, the worker drives them. Close waits for the
// commands it is still sending in the background.
func (s *Service) OpenSagas() (*sagas.Processor, error) {
	b, err := s.OpenBus()
	if err != nil {
		return nil, err
	}
	var sender sagas.CommandSender = b
	if s.opts.sagaSender != nil {
		sender = s.opts.sagaSender(sender)
	}
	saga := sagas.NewProcessor(s.opts.saga, s.Pools[config.Ordering], s.handlers, sender, s.Metrics, s.Logger.With("component", "saga"))
	s.onClose(saga.Drain) // before the bus's publisher closes
	return saga, nil
}

// NewProjector returns the Elasticsearch projector and makes it the owner
// of the held documents' dead letters (a replay re-projects the
// aggregate). Build one per process: its document caches must see every
// write of the process.
func (s *Service) NewProjector() (*projections.Projector, error) {
	cfg := projections.DefaultConfig(s.Config, s.Elastic, s.Pools, s.Metrics, s.Logger.With("component", "projections"))
	cfg.Breaker = s.esBreaker
	cfg.DeadLetters = s.deadLetters.Store
	p, err := projections.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, n := range projections.Names() {
		s.deadLetters.Store.SetOwner(projections.DocumentsHandler(n), deadletter.Owner{Replay: func(ctx context.Context, id string) error {
			return p.Reproject(ctx, n, id)
		}})
	}
	return p, nil
}

// ChangeFeed follows the ordering events topic from its newest offset and
// signals the live subscriptions of this process; every API instance runs
// one (Router.Run). Pass it to Application.
type ChangeFeed struct {
	Router  *message.Router
	Changes *query.OrderChanges
	// Completions measures orders end to end from the feed.
	Completions *app.CompletionTimes
}

// OpenChangeFeed returns the order change feed, not yet running.
func (s *Service) OpenChangeFeed() (*ChangeFeed, error) {
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
	feed := &ChangeFeed{Router: router, Changes: query.NewOrderChanges(), Completions: app.NewCompletionTimes(nil)}
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
			feed.Completions.Observe(msg.Metadata.Get(messages.HeaderStreamID), msg.Metadata.Get(messages.HeaderEventType),
				occurredAt(msg.Metadata.Get(messages.HeaderOccurredAt)))
			if !feed.Changes.Watched(msg.Metadata.Get(messages.HeaderStreamID)) {
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
			feed.Changes.Notify(query.OrderChange{OrderID: env.StreamID, Version: env.Version, Event: e})
			return nil
		})
	return feed, nil
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

// Application returns the application seam over the command handlers
// (run in this process), the order sagas they start and the read models.
// feed serves live subscriptions and measured completion estimates; nil in
// processes that serve none (the command-line tools).
func (s *Service) Application(saga *sagas.Processor, projector *projections.Projector, feed *ChangeFeed) app.Application {
	cfg := app.DefaultConfig()
	if s.Config.MaxPendingCommands > 0 {
		cfg.MaxPendingCommands = s.Config.MaxPendingCommands
	}
	cfg.Metrics = s.commandMetrics
	return app.New(cfg, s.handlers, saga, s.ReadModels(projector, feed), s.Logger)
}

// ReadModels returns what the queries are served from: the Elasticsearch
// readers, the projector's status, the event stores' timelines, the
// reconciliation reports, the dead letters and the breakers; with feed,
// the live order changes too.
func (s *Service) ReadModels(projector *projections.Projector, feed *ChangeFeed) app.ReadModels {
	read := app.ReadModels{
		Orders:         query.NewOrdersIndex(s.Elastic, s.Config.Index(string(projections.Orders))),
		Products:       query.NewProductsIndex(s.Elastic, s.Config.Index(string(projections.Products))),
		Customers:      query.NewCustomersIndex(s.Elastic, s.Config.Index(string(projections.Customers))),
		Projections:    projector,
		Reconciliation: reconcile.NewReportStore(s.Pools[config.Ordering], s.Config.Namespace),
		Timelines:      timeline.NewReader(s.Pools),
		DeadLetters:    s.deadLetters.Store,
		Breakers:       breaker.Set{s.esBreaker, s.paymentBreaker},
	}
	if feed != nil {
		read.Changes = feed.Changes
		read.Completions = feed.Completions
	}
	return read
}

// MountAPI serves application as GraphQL at /graphql (GraphiQL at /), REST
// under /api/ and the operator console under /console/.
func (s *Service) MountAPI(srv *server.Server, application app.Application) error {
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
		Middleware: s.opts.middleware, DeadLetters: s.deadLetters,
		Logger: s.Logger.With("component", "commands"), CombineLinger: CombineLinger, CombineParallel: CombineParallel,
	}, s.handlers.BusHandlers()...)
}

// SagaConsumer returns saga's consumers of the three event topics; Run it
// to start consuming. The saga's deadlines run apart, in
// saga.RunDeadlines.
func (s *Service) SagaConsumer(saga *sagas.Processor) (*consumer.Set, error) {
	if err := s.EnsureTopics(); err != nil {
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

// CombineLinger is how long the saga's and the command handlers'
// consumers wait for other partitions' messages to share a transaction
// with (consumer.Config.CombineLinger). 5 ms cut CPU per order at 167
// orders/s from 10.97 / 10.35 to 9.86 / 9.95 ms for all processes
// (transactions per order 9.9 / 10.8 to 9.5 / 9.6), and end-to-end p99
// from 844 / 301 to 522 / 438 ms, runs alternated (docs/benchmarks.md,
// "2026-12-01, midday"); each saga and command hop waits up to 5 ms more
// (four on an order's way to CONFIRMED).
const CombineLinger = 5 * time.Millisecond

// CombineParallel is how many combined calls each of those consumers runs
// at once. A call's statements are round trips one after the other; with
// one call at a time a consumer's throughput is what one connection does
// between them, which under load (a busy machine stretches every round
// trip) fell behind at 167 orders/s on make run: the sagas' deadlines
// fired and resent, and the backlog fed itself.
const CombineParallel = 4

// newConsumer returns a consumer on the consumer loop: group name (the
// handler's name, namespaced), the process's metrics, the batch
// middleware around h.
func (s *Service) newConsumer(name, clientID string, h consumer.Handler, topics ...string) (*consumer.Consumer, error) {
	for _, mw := range s.opts.middleware {
		h = mw(h)
	}
	return consumer.New(consumer.Config{
		Name: name, Group: s.Config.ConsumerGroup(name), Topics: topics,
		Brokers: s.Config.KafkaBrokers, ClientID: clientID,
		Metrics: s.loopMetrics, Logger: s.Logger.With("component", "consumer"),
		DeadLetters: s.deadLetters,
		// The partitions' ready events in one transaction (the saga's
		// HandleBatch).
		Combine: true, CombineLinger: CombineLinger, CombineParallel: CombineParallel,
	}, h)
}

// ProjectorConsumer returns projector's consumer of the three event
// topics, with the indexes in place; Run it to start consuming.
func (s *Service) ProjectorConsumer(ctx context.Context, projector *projections.Projector) (*consumer.Set, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	if err := projector.EnsureIndexes(ctx); err != nil {
		return nil, err
	}
	return projector.NewConsumer(projections.KafkaSource{
		Brokers: s.Config.KafkaBrokers, ClientID: "orderflow-projector",
		Topic: s.Config.Topic, Group: s.Config.ConsumerGroup,
		Metrics: s.loopMetrics, Middleware: s.opts.middleware, DeadLetters: s.deadLetters,
	})
}

// Reconciler returns the reconciliation job (package reconcile) over
// every context's database and the read models, healing through projector
// and saga.
func (s *Service) Reconciler(cfg reconcile.Config, projector *projections.Projector, saga *sagas.Processor) (*reconcile.Reconciler, error) {
	return reconcile.New(cfg, reconcile.Deps{
		Pools: s.Pools, Elastic: s.Elastic, Index: s.Config.Index, Namespace: s.Config.Namespace,
		Projections: projector, Sagas: saga, Metrics: s.Metrics, Logger: s.Logger.With("component", "reconcile"),
	})
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

// Relays returns one outbox relay per context, publishing its events topic
// (their publishers are closed by Close).
func (s *Service) Relays() ([]*outbox.Relay, error) {
	if err := s.EnsureTopics(); err != nil {
		return nil, err
	}
	var relays []*outbox.Relay
	for _, c := range config.Contexts() {
		pub := outbox.NewKafkaPublisher(s.Config.KafkaBrokers, "orderflow-relay-"+string(c))
		s.onClose(func() { _ = pub.Close() })
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

// store is the event store of one context.
func (s *Service) store(c config.Context) *eventstore.Store {
	switch c {
	case config.Inventory:
		return s.stores.Inventory
	case config.Payments:
		return s.stores.Payments
	default:
		return s.stores.Ordering
	}
}

func (s *Service) watermillLogger() watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(s.Logger.With("component", "watermill"), map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug,
	})
}

// onClose runs f at Close, before what was opened earlier is closed.
func (s *Service) onClose(f func()) { s.closers = append(s.closers, f) }

// Close releases every connection, last opened first: the saga's commands
// being sent in the background are sent before their publisher closes,
// and the pools close last.
func (s *Service) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	for _, pool := range s.distinct {
		pool.Close()
	}
}
