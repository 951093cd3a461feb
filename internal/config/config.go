// Package config reads the one Config of an orderflow process from flags and
// ORDERFLOW_* environment variables. Nothing deeper in the code base reads
// the environment: main builds a Config and hands its parts down.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults match the servers started by deploy/local/deps, so `make run` and
// `make test` need no configuration at all.
const (
	DefaultHTTPAddr         = ":8080"
	DefaultPostgresURL      = "postgres://postgres@127.0.0.1:5433/orderflow?sslmode=disable"
	DefaultKafkaBrokers     = "127.0.0.1:9092"
	DefaultElasticsearchURL = "http://127.0.0.1:9200"
	// DefaultJWTSecret only exists so a fresh checkout runs; production sets
	// ORDERFLOW_JWT_SECRET and Validate refuses the default outside dev mode.
	DefaultJWTSecret = "orderflow-local-dev-secret"
)

// Config is everything a process needs to reach its dependencies and serve.
type Config struct {
	// HTTPAddr is where serving roles listen (GraphQL, health, metrics).
	HTTPAddr string
	// JWTSecret signs and verifies HS256 bearer tokens.
	JWTSecret string
	// Dev allows the built-in JWT secret; it is on for the local defaults.
	Dev bool

	// PostgresURL is the default database of every bounded context.
	PostgresURL string
	// OrderingPostgresURL, InventoryPostgresURL and PaymentsPostgresURL point
	// one context at a database of its own; empty means PostgresURL.
	OrderingPostgresURL  string
	InventoryPostgresURL string
	PaymentsPostgresURL  string

	// KafkaBrokers lists the bootstrap brokers.
	KafkaBrokers []string
	// ElasticsearchURL is the read-model cluster.
	ElasticsearchURL string

	// Namespace prefixes every Kafka topic, consumer group and Elasticsearch
	// index, so several deployments (or parallel tests) share servers
	// without seeing each other. Empty in production.
	Namespace string

	// PaymentFaults injects faults into the payment provider, for load
	// tests and drills; all zero (no faults) in production.
	PaymentFaults PaymentFaults

	// MaxPendingCommands bounds the commands an API process runs at once;
	// beyond it they are refused before they run (0: the application's
	// default).
	MaxPendingCommands int

	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
}

// PaymentFaults are the faults of payments.FaultyProvider.
type PaymentFaults struct {
	// TransientErrorRate is the share of authorizations failing
	// transiently (retried), 0..1.
	TransientErrorRate float64
	// RefusalRate is the share declined outright, 0..1.
	RefusalRate float64
	// Latency is added to every authorization.
	Latency time.Duration
}

// Enabled reports whether any fault is configured.
func (f PaymentFaults) Enabled() bool {
	return f.TransientErrorRate > 0 || f.RefusalRate > 0 || f.Latency > 0
}

// Context names one bounded context; each owns a schema of that name.
type Context string

// The bounded contexts, in the order the saga visits them.
const (
	Ordering  Context = "ordering"
	Inventory Context = "inventory"
	Payments  Context = "payments"
)

// Contexts lists every bounded context.
func Contexts() []Context { return []Context{Ordering, Inventory, Payments} }

// DatabaseURL is the database that holds ctx's event store.
func (c Config) DatabaseURL(ctx Context) string {
	var u string
	switch ctx {
	case Ordering:
		u = c.OrderingPostgresURL
	case Inventory:
		u = c.InventoryPostgresURL
	case Payments:
		u = c.PaymentsPostgresURL
	}
	if u == "" {
		return c.PostgresURL
	}
	return u
}

// DatabaseURLs returns each distinct database once, for migrations and
// readiness checks.
func (c Config) DatabaseURLs() []string {
	seen := map[string]bool{}
	var urls []string
	for _, ctx := range Contexts() {
		u := c.DatabaseURL(ctx)
		if !seen[u] {
			seen[u] = true
			urls = append(urls, u)
		}
	}
	return urls
}

// Topic is the namespaced name of a Kafka topic.
func (c Config) Topic(name string) string { return c.prefixed(name, ".") }

// Index is the namespaced name of an Elasticsearch index or alias.
func (c Config) Index(name string) string { return c.prefixed(name, "-") }

// ConsumerGroup is the namespaced name of a Kafka consumer group.
func (c Config) ConsumerGroup(name string) string { return c.prefixed(name, ".") }

func (c Config) prefixed(name, sep string) string {
	if c.Namespace == "" {
		return name
	}
	return c.Namespace + sep + name
}

// Default is the configuration of a local development machine.
func Default() Config {
	return Config{
		HTTPAddr:         DefaultHTTPAddr,
		JWTSecret:        DefaultJWTSecret,
		Dev:              true,
		PostgresURL:      DefaultPostgresURL,
		KafkaBrokers:     strings.Split(DefaultKafkaBrokers, ","),
		ElasticsearchURL: DefaultElasticsearchURL,
		ShutdownTimeout:  15 * time.Second,
		LogLevel:         "info",
	}
}

// Validate reports every problem at once so an operator fixes them in one go.
func (c Config) Validate() error {
	var errs []error
	if c.PostgresURL == "" {
		errs = append(errs, errors.New("postgres url is empty (ORDERFLOW_POSTGRES_URL)"))
	}
	if len(c.KafkaBrokers) == 0 || c.KafkaBrokers[0] == "" {
		errs = append(errs, errors.New("no kafka brokers (ORDERFLOW_KAFKA_BROKERS)"))
	}
	if c.ElasticsearchURL == "" {
		errs = append(errs, errors.New("elasticsearch url is empty (ORDERFLOW_ELASTICSEARCH_URL)"))
	}
	if c.JWTSecret == "" {
		errs = append(errs, errors.New("jwt secret is empty (ORDERFLOW_JWT_SECRET)"))
	}
	if c.JWTSecret == DefaultJWTSecret && !c.Dev {
		errs = append(errs, errors.New("the built-in jwt secret is only allowed with ORDERFLOW_DEV=true; set ORDERFLOW_JWT_SECRET"))
	}
	for name, rate := range map[string]float64{"payment transient error rate": c.PaymentFaults.TransientErrorRate, "payment refusal rate": c.PaymentFaults.RefusalRate} {
		if rate < 0 || rate > 1 {
			errs = append(errs, fmt.Errorf("%s %v is not between 0 and 1", name, rate))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("shutdown timeout must be positive"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log level %q is not one of debug, info, warn, error", c.LogLevel))
	}
	return errors.Join(errs...)
}

// Env reads one variable; main passes os.LookupEnv, tests pass a map.
type Env func(key string) (string, bool)

// RegisterFlags binds the Config's fields to fs, with ORDERFLOW_* variables
// from env as defaults (a flag given on the command line wins).
func (c *Config) RegisterFlags(fs *flag.FlagSet, env Env) {
	str := func(p *string, name, envKey, usage string) {
		if v, ok := env(envKey); ok {
			*p = v
		}
		fs.StringVar(p, name, *p, usage+" (env "+envKey+")")
	}
	str(&c.HTTPAddr, "http-addr", "ORDERFLOW_HTTP_ADDR", "HTTP listen address")
	str(&c.JWTSecret, "jwt-secret", "ORDERFLOW_JWT_SECRET", "HS256 secret for bearer tokens")
	str(&c.PostgresURL, "postgres-url", "ORDERFLOW_POSTGRES_URL", "PostgreSQL URL of every context")
	str(&c.OrderingPostgresURL, "ordering-postgres-url", "ORDERFLOW_ORDERING_POSTGRES_URL", "separate database of the ordering context")
	str(&c.InventoryPostgresURL, "inventory-postgres-url", "ORDERFLOW_INVENTORY_POSTGRES_URL", "separate database of the inventory context")
	str(&c.PaymentsPostgresURL, "payments-postgres-url", "ORDERFLOW_PAYMENTS_POSTGRES_URL", "separate database of the payments context")
	str(&c.ElasticsearchURL, "elasticsearch-url", "ORDERFLOW_ELASTICSEARCH_URL", "Elasticsearch URL")
	str(&c.Namespace, "namespace", "ORDERFLOW_NAMESPACE", "prefix of topics, consumer groups and indexes")
	str(&c.LogLevel, "log-level", "ORDERFLOW_LOG_LEVEL", "debug, info, warn or error")

	if v, ok := env("ORDERFLOW_KAFKA_BROKERS"); ok {
		c.KafkaBrokers = splitList(v)
	}
	fs.Func("kafka-brokers", "comma-separated Kafka bootstrap brokers (env ORDERFLOW_KAFKA_BROKERS, default "+DefaultKafkaBrokers+")",
		func(s string) error { c.KafkaBrokers = splitList(s); return nil })

	if v, ok := env("ORDERFLOW_DEV"); ok {
		b, err := strconv.ParseBool(v)
		c.Dev = err == nil && b
	}
	fs.BoolVar(&c.Dev, "dev", c.Dev, "allow the built-in development JWT secret (env ORDERFLOW_DEV)")
	if v, ok := env("ORDERFLOW_SHUTDOWN_TIMEOUT"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			c.ShutdownTimeout = d
		}
	}
	float := func(p *float64, name, envKey, usage string) {
		if v, ok := env(envKey); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				*p = f
			}
		}
		fs.Float64Var(p, name, *p, usage+" (env "+envKey+")")
	}
	float(&c.PaymentFaults.TransientErrorRate, "payment-fault-rate", "ORDERFLOW_PAYMENT_FAULT_RATE", "share of payment authorizations failing transiently, 0..1 (fault injection)")
	float(&c.PaymentFaults.RefusalRate, "payment-refusal-rate", "ORDERFLOW_PAYMENT_REFUSAL_RATE", "share of payment authorizations declined, 0..1 (fault injection)")
	if v, ok := env("ORDERFLOW_PAYMENT_LATENCY"); ok {
		if d, err := time.ParseDuration(v); err == nil {
			c.PaymentFaults.Latency = d
		}
	}
	fs.DurationVar(&c.PaymentFaults.Latency, "payment-latency", c.PaymentFaults.Latency, "latency added to every payment authorization (fault injection; env ORDERFLOW_PAYMENT_LATENCY)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "graceful stop deadline (env ORDERFLOW_SHUTDOWN_TIMEOUT)")
	if v, ok := env("ORDERFLOW_MAX_PENDING_COMMANDS"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			c.MaxPendingCommands = n
		}
	}
	fs.IntVar(&c.MaxPendingCommands, "max-pending-commands", c.MaxPendingCommands, "commands an API process runs at once at most; more are refused before they run, retryable (env ORDERFLOW_MAX_PENDING_COMMANDS, 0: 512)")
}

// OSEnv is Env backed by the process environment.
func OSEnv(key string) (string, bool) { return os.LookupEnv(key) }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
