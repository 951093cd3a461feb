// Package config reads the one Config of an orderflow process from flags and
// ORDERFLOW_* environment variables. Nothing deeper in the code base reads
// the environment: main builds a Config and hands its parts down.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults match the servers started by deploy/local/deps, so `make run` and
// `make test` need no configuration beyond development mode.
const (
	DefaultHTTPAddr         = ":8080"
	DefaultPostgresURL      = "postgres://postgres@127.0.0.1:5433/orderflow?sslmode=disable"
	DefaultKafkaBrokers     = "127.0.0.1:9092"
	DefaultElasticsearchURL = "http://127.0.0.1:9200"
	// DefaultJWTSecret only exists so a fresh checkout runs in development
	// mode; Validate refuses it otherwise, so production sets
	// ORDERFLOW_JWT_SECRET.
	DefaultJWTSecret = "orderflow-local-dev-secret"
)

// Config is everything a process needs to reach its dependencies and serve.
type Config struct {
	// HTTPAddr is where serving roles listen (GraphQL, health, metrics).
	HTTPAddr string
	// JWTSecret signs and verifies HS256 bearer tokens.
	JWTSecret string
	// Dev is development mode: the built-in JWT secret is allowed and
	// GraphQL introspection is on. Off by default; `make run` and the
	// tests turn it on.
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

	// MaxPendingCommands bounds the synchronous commands an API process
	// waits on; beyond it they are refused before being sent (0: the
	// application's default).
	MaxPendingCommands int

	// ReconcileInterval is how often the workers reconcile the services'
	// data (one of them at a time, see package reconcile); 0 turns the
	// periodic run off (orderflow reconcile still runs on demand).
	ReconcileInterval time.Duration
	// ReconcileFullInterval is how often a periodic run compares every
	// order, product and customer; the runs between compare those changed
	// since the run before (reconcile.Config.FullInterval). 0 makes every
	// periodic run full.
	ReconcileFullInterval time.Duration
	// ReconcilePageRest is how long a periodic run rests after each page,
	// as a multiple of the time the page took (reconcile.Config.PageRest):
	// 1 spreads a run over twice the time at half the load, 0 runs flat
	// out.
	ReconcilePageRest float64

	// OTelEndpoint is the OTLP/HTTP endpoint traces are exported to (a
	// base URL such as http://collector:4318); empty leaves tracing off.
	// Unset, the standard OTEL_EXPORTER_OTLP_ENDPOINT is used.
	OTelEndpoint string
	// RetryLevels are the delays between the retries of a parked message
	// (package deadletter); after the last it is a dead letter.
	RetryLevels []time.Duration
	// Retention is how long replayed and discarded dead letters, handled
	// inbox rows and processed-event rows are kept; longer than any
	// redelivery (0: never pruned).
	Retention time.Duration

	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout time.Duration
	// DrainDelay is how long a stopping process answers /readyz with 503
	// while still serving, before it stops accepting: the time a load
	// balancer (or Kubernetes' endpoints) needs to stop sending it new
	// requests. It counts against ShutdownTimeout (at most half of it).
	DrainDelay time.Duration
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

// maxReconcilePageRest bounds ReconcilePageRest: at 100 a full pass that
// takes a minute flat out takes close to two hours, past which a periodic
// run overlaps the next and a typo (1000 for 1) is more likely than intent.
const maxReconcilePageRest = 100

// Default is the configuration of a local development machine, except
// that development mode is off: the built-in JWT secret and introspection
// are only there when a process opts in with ORDERFLOW_DEV=true (`make run`
// and the tests do), so a binary started without configuration is never
// the unsafe one.
func Default() Config {
	return Config{
		HTTPAddr:              DefaultHTTPAddr,
		JWTSecret:             DefaultJWTSecret,
		PostgresURL:           DefaultPostgresURL,
		KafkaBrokers:          strings.Split(DefaultKafkaBrokers, ","),
		ElasticsearchURL:      DefaultElasticsearchURL,
		ReconcileInterval:     5 * time.Minute,
		ReconcileFullInterval: 6 * time.Hour,
		ReconcilePageRest:     1,
		RetryLevels:           []time.Duration{5 * time.Second, time.Minute, 10 * time.Minute, time.Hour},
		Retention:             7 * 24 * time.Hour,
		ShutdownTimeout:       15 * time.Second,
		DrainDelay:            time.Second,
		LogLevel:              "info",
	}
}

// Validate reports every problem at once so an operator fixes them in one
// go. Each names the variable and flag that set the value, and the value.
func (c Config) Validate() error { return c.validate(true) }

// ValidateWithoutTokens is Validate for a command that neither verifies
// nor issues bearer tokens (the worker, relay and projector roles, the
// operator's tools): the JWT secret is not asked for.
func (c Config) ValidateWithoutTokens() error { return c.validate(false) }

func (c Config) validate(tokens bool) error {
	var errs []error
	bad := func(flagName string, value any, problem string) {
		errs = append(errs, fmt.Errorf("%s (--%s) %q: %s", envName(flagName), flagName, fmt.Sprint(value), problem))
	}

	if err := checkListenAddr(c.HTTPAddr); err != nil {
		bad("http-addr", c.HTTPAddr, err.Error())
	}
	// The secret itself is never quoted.
	switch {
	case !tokens:
	case (c.JWTSecret == "" || c.JWTSecret == DefaultJWTSecret) && !c.Dev:
		errs = append(errs, errors.New("ORDERFLOW_JWT_SECRET (--jwt-secret) is not set: set the HS256 secret of the bearer tokens, or ORDERFLOW_DEV=true for development mode and its built-in secret"))
	case c.JWTSecret == "":
		errs = append(errs, errors.New("ORDERFLOW_JWT_SECRET (--jwt-secret) is empty"))
	}
	if err := checkURL(c.PostgresURL, "postgres", "postgresql"); err != nil {
		bad("postgres-url", redactURL(c.PostgresURL), err.Error())
	}
	for flagName, u := range map[string]string{
		"ordering-postgres-url":  c.OrderingPostgresURL,
		"inventory-postgres-url": c.InventoryPostgresURL,
		"payments-postgres-url":  c.PaymentsPostgresURL,
	} {
		if u == "" {
			continue // the context uses PostgresURL
		}
		if err := checkURL(u, "postgres", "postgresql"); err != nil {
			bad(flagName, redactURL(u), err.Error())
		}
	}
	if len(c.KafkaBrokers) == 0 {
		bad("kafka-brokers", "", "no broker given")
	}
	for _, b := range c.KafkaBrokers {
		if err := checkHostPort(b); err != nil {
			bad("kafka-brokers", strings.Join(c.KafkaBrokers, ","), fmt.Sprintf("broker %q: %v", b, err))
		}
	}
	if err := checkURL(c.ElasticsearchURL, "http", "https"); err != nil {
		bad("elasticsearch-url", redactURL(c.ElasticsearchURL), err.Error())
	}
	if c.Namespace != "" && !namespacePattern.MatchString(c.Namespace) {
		bad("namespace", c.Namespace, "must be 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit (it prefixes topic and index names)")
	}
	for flagName, rate := range map[string]float64{
		"payment-fault-rate":   c.PaymentFaults.TransientErrorRate,
		"payment-refusal-rate": c.PaymentFaults.RefusalRate,
	} {
		if !(rate >= 0 && rate <= 1) { // NaN fails both
			bad(flagName, rate, "must be between 0 and 1")
		}
	}
	if c.PaymentFaults.Latency < 0 {
		bad("payment-latency", c.PaymentFaults.Latency, "must not be negative")
	}
	if c.MaxPendingCommands < 0 {
		bad("max-pending-commands", c.MaxPendingCommands, "must not be negative (0 takes the default)")
	}
	if c.ReconcileInterval < 0 {
		bad("reconcile-interval", c.ReconcileInterval, "must not be negative (0 turns the periodic reconciliation off)")
	}
	if c.ReconcileFullInterval < 0 {
		bad("reconcile-full-interval", c.ReconcileFullInterval, "must not be negative (0 makes every periodic reconciliation full)")
	}
	if !(c.ReconcilePageRest >= 0 && c.ReconcilePageRest <= maxReconcilePageRest) { // NaN fails both
		bad("reconcile-page-rest", c.ReconcilePageRest, fmt.Sprintf("must be between 0 (flat out) and %d", maxReconcilePageRest))
	}
	if len(c.RetryLevels) == 0 || slices.ContainsFunc(c.RetryLevels, func(d time.Duration) bool { return d <= 0 }) {
		bad("retry-levels", durationList(c.RetryLevels).String(), "must be one or more positive durations, comma-separated (e.g. 5s,1m,10m,1h)")
	}
	if c.Retention < 0 || (c.Retention > 0 && c.Retention < time.Hour) {
		bad("retention", c.Retention, "must be at least 1h, longer than any redelivery (0 keeps everything)")
	}
	if c.DrainDelay < 0 {
		bad("drain-delay", c.DrainDelay, "must not be negative")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", c.ShutdownTimeout, "must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", c.LogLevel, "must be one of debug, info, warn, error")
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

var namespacePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// checkListenAddr accepts host:port with an empty host (all interfaces)
// and port 0 (any free port).
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port, e.g. :8080")
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// checkHostPort accepts host:port with a host and a port from 1 to 65535.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return errors.New("must be host:port")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// checkURL accepts an absolute URL with one of schemes. Its host may be
// empty only for PostgreSQL, whose URLs can name a socket directory in a
// query parameter instead.
func checkURL(raw string, schemes ...string) error {
	if raw == "" {
		return errors.New("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Not url's own message: it would repeat the URL, password and all.
		return errors.New("is not a URL")
	}
	if !slices.Contains(schemes, u.Scheme) {
		return fmt.Errorf("must be a %s:// URL", strings.Join(schemes, ":// or "))
	}
	if u.Host == "" && u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("has no host")
	}
	return nil
}

// redactURL hides the password of a URL quoted in an error, even one that
// does not parse.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndex(raw, "@"); j > i {
			return raw[:i+3] + "xxxxx" + raw[j:]
		}
	}
	return raw
}

// Env reads one variable; main passes os.LookupEnv, tests pass a map.
type Env func(key string) (string, bool)

// envName is the environment variable of a flag: --max-pending-commands
// reads ORDERFLOW_MAX_PENDING_COMMANDS.
func envName(flagName string) string {
	return "ORDERFLOW_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// RegisterFlags binds the Config's fields to fs, then sets each from its
// ORDERFLOW_* variable in env, if present, so a flag given on the command
// line still wins. A variable whose value does not parse is an error naming
// the variable and the value, never silently replaced by the default;
// ranges are Validate's.
func (c *Config) RegisterFlags(fs *flag.FlagSet, env Env) error {
	usage := func(text, flagName string) string { return text + " (env " + envName(flagName) + ")" }
	str := func(p *string, name, text string) { fs.StringVar(p, name, *p, usage(text, name)) }

	str(&c.HTTPAddr, "http-addr", "HTTP listen address")
	str(&c.JWTSecret, "jwt-secret", "HS256 secret of the bearer tokens; required unless --dev")
	fs.BoolVar(&c.Dev, "dev", c.Dev, usage("development mode: the built-in JWT secret and GraphQL introspection", "dev"))
	str(&c.PostgresURL, "postgres-url", "PostgreSQL URL of every context")
	str(&c.OrderingPostgresURL, "ordering-postgres-url", "separate database of the ordering context")
	str(&c.InventoryPostgresURL, "inventory-postgres-url", "separate database of the inventory context")
	str(&c.PaymentsPostgresURL, "payments-postgres-url", "separate database of the payments context")
	fs.Var((*brokerList)(&c.KafkaBrokers), "kafka-brokers", usage("comma-separated Kafka bootstrap brokers", "kafka-brokers"))
	str(&c.ElasticsearchURL, "elasticsearch-url", "Elasticsearch URL")
	str(&c.Namespace, "namespace", "prefix of topics, consumer groups and indexes")
	str(&c.LogLevel, "log-level", "debug, info, warn or error")
	if v, ok := env("OTEL_EXPORTER_OTLP_ENDPOINT"); ok {
		c.OTelEndpoint = v // the standard variable; ORDERFLOW_OTEL_ENDPOINT or the flag win
	}
	str(&c.OTelEndpoint, "otel-endpoint", "OTLP/HTTP endpoint to export traces to, e.g. http://collector:4318 (empty: tracing off; default OTEL_EXPORTER_OTLP_ENDPOINT)")
	fs.Float64Var(&c.PaymentFaults.TransientErrorRate, "payment-fault-rate", c.PaymentFaults.TransientErrorRate,
		usage("share of payment authorizations failing transiently, 0..1 (fault injection)", "payment-fault-rate"))
	fs.Float64Var(&c.PaymentFaults.RefusalRate, "payment-refusal-rate", c.PaymentFaults.RefusalRate,
		usage("share of payment authorizations declined, 0..1 (fault injection)", "payment-refusal-rate"))
	fs.DurationVar(&c.PaymentFaults.Latency, "payment-latency", c.PaymentFaults.Latency,
		usage("latency added to every payment authorization (fault injection)", "payment-latency"))
	fs.DurationVar(&c.ReconcileInterval, "reconcile-interval", c.ReconcileInterval,
		usage("how often the workers reconcile the services' data, one at a time (0: off)", "reconcile-interval"))
	fs.DurationVar(&c.ReconcileFullInterval, "reconcile-full-interval", c.ReconcileFullInterval,
		usage("how often a periodic reconciliation compares every order, product and customer; the runs between compare those changed since the last (0: every run)", "reconcile-full-interval"))
	fs.Float64Var(&c.ReconcilePageRest, "reconcile-page-rest", c.ReconcilePageRest,
		usage("how long a periodic reconciliation rests after each page, as a multiple of the time the page took (0: flat out)", "reconcile-page-rest"))
	fs.Var((*durationList)(&c.RetryLevels), "retry-levels",
		usage("delays between the retries of a parked message, comma-separated; after the last it is a dead letter", "retry-levels"))
	fs.DurationVar(&c.Retention, "retention",
		c.Retention, usage("how long replayed and discarded dead letters, handled inbox rows and processed events are kept (0: forever)", "retention"))
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, usage("graceful stop deadline", "shutdown-timeout"))
	fs.DurationVar(&c.DrainDelay, "drain-delay", c.DrainDelay, usage("after SIGTERM, how long /readyz fails while requests are still served, so balancers move away", "drain-delay"))
	fs.IntVar(&c.MaxPendingCommands, "max-pending-commands", c.MaxPendingCommands,
		usage("commands an API process runs at once at most; more are refused before they run, retryable (0: 512)", "max-pending-commands"))

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		key := envName(f.Name)
		v, ok := env(key)
		if !ok {
			return
		}
		old := f.Value.String()
		if err := fs.Set(f.Name, v); err != nil {
			// The flag package's values store what they parsed, zero on
			// failure; put the default back so Validate does not report
			// the same variable again.
			_ = f.Value.Set(old)
			errs = append(errs, fmt.Errorf("%s %q: %s", key, v, expected(f)))
		}
	})
	return errors.Join(errs...)
}

// expected describes the values a flag takes, for a variable that did not
// parse.
func expected(f *flag.Flag) string {
	switch f.Value.(flag.Getter).Get().(type) {
	case bool:
		return "not a boolean (want true or false)"
	case int:
		return "not an integer"
	case float64:
		return "not a number"
	case time.Duration:
		return "not a duration (want a number with a unit, e.g. 15s or 1m30s)"
	case []time.Duration:
		return "not a list of durations (want e.g. 5s,1m,10m,1h)"
	default:
		return "not a valid value"
	}
}

// brokerList is a comma-separated flag value.
type brokerList []string

func (l *brokerList) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *brokerList) Set(s string) error {
	*l = splitList(s)
	return nil
}

// Get implements flag.Getter.
func (l *brokerList) Get() any { return []string(*l) }

// durationList is a comma-separated list of durations.
type durationList []time.Duration

func (l durationList) String() string {
	parts := make([]string, len(l))
	for i, d := range l {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func (l *durationList) Set(s string) error {
	var out []time.Duration
	for _, p := range splitList(s) {
		d, err := time.ParseDuration(p)
		if err != nil {
			return err
		}
		out = append(out, d)
	}
	*l = out
	return nil
}

// Get implements flag.Getter.
func (l *durationList) Get() any { return []time.Duration(*l) }

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
