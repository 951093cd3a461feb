package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parse reads a Config as main does: defaults, then env, then args. It
// returns the Config and the error of the variables that did not parse.
func parse(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	cfg := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	envErr := cfg.RegisterFlags(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, fs.Parse(args))
	return cfg, envErr
}

// valid parses a configuration that must be accepted.
func valid(t *testing.T, env map[string]string, args ...string) Config {
	t.Helper()
	cfg, err := parse(t, env, args...)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	return cfg
}

// dev is the environment of `make run` and the tests.
var dev = map[string]string{"ORDERFLOW_DEV": "true"}

func TestDefaultsMatchLocalDeps(t *testing.T) {
	t.Parallel()
	cfg := valid(t, dev)
	require.True(t, cfg.Dev)
	require.Equal(t, DefaultJWTSecret, cfg.JWTSecret)
	require.Equal(t, ":8080", cfg.HTTPAddr)
	require.Equal(t, []string{"127.0.0.1:9092"}, cfg.KafkaBrokers)
	require.Equal(t, DefaultPostgresURL, cfg.DatabaseURL(Payments))
	require.Equal(t, []string{DefaultPostgresURL}, cfg.DatabaseURLs())
	require.Equal(t, 5*time.Minute, cfg.ReconcileInterval)
	require.Equal(t, 6*time.Hour, cfg.ReconcileFullInterval)
	require.Equal(t, 1.0, cfg.ReconcilePageRest)
}

func TestDefaultIsNotDevelopmentMode(t *testing.T) {
	t.Parallel()
	require.False(t, Default().Dev)

	cfg, err := parse(t, nil)
	require.NoError(t, err)
	err = cfg.Validate()
	require.ErrorContains(t, err, "ORDERFLOW_JWT_SECRET (--jwt-secret) is not set")
	require.ErrorContains(t, err, "ORDERFLOW_DEV=true")

	cfg, err = parse(t, map[string]string{"ORDERFLOW_DEV": "false"})
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), "ORDERFLOW_JWT_SECRET")

	cfg, err = parse(t, map[string]string{"ORDERFLOW_JWT_SECRET": DefaultJWTSecret})
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), "ORDERFLOW_JWT_SECRET", "the built-in secret is only for development mode")

	cfg = valid(t, map[string]string{"ORDERFLOW_JWT_SECRET": "s3cret"})
	require.False(t, cfg.Dev)
	require.Equal(t, "s3cret", cfg.JWTSecret)

	cfg = valid(t, nil, "--dev")
	require.True(t, cfg.Dev)
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ORDERFLOW_DEV":                     "true",
		"ORDERFLOW_HTTP_ADDR":               ":9000",
		"ORDERFLOW_KAFKA_BROKERS":           "a:1, b:2",
		"ORDERFLOW_PAYMENTS_POSTGRES_URL":   "postgres://pay",
		"ORDERFLOW_SHUTDOWN_TIMEOUT":        "3s",
		"ORDERFLOW_NAMESPACE":               "t1",
		"ORDERFLOW_MAX_PENDING_COMMANDS":    "64",
		"ORDERFLOW_RECONCILE_INTERVAL":      "0s",
		"ORDERFLOW_RECONCILE_FULL_INTERVAL": "1h",
		"ORDERFLOW_RECONCILE_PAGE_REST":     "2.5",
	}
	cfg := valid(t, env, "--http-addr", ":9100")
	require.Equal(t, ":9100", cfg.HTTPAddr)
	require.Equal(t, []string{"a:1", "b:2"}, cfg.KafkaBrokers)
	require.Equal(t, "postgres://pay", cfg.DatabaseURL(Payments))
	require.Equal(t, DefaultPostgresURL, cfg.DatabaseURL(Ordering))
	require.Len(t, cfg.DatabaseURLs(), 2)
	require.Equal(t, 3*time.Second, cfg.ShutdownTimeout)
	require.Equal(t, 64, cfg.MaxPendingCommands)
	require.Zero(t, cfg.ReconcileInterval, "0 turns the periodic reconciliation off")
	require.Equal(t, time.Hour, cfg.ReconcileFullInterval)
	require.Equal(t, 2.5, cfg.ReconcilePageRest)
	require.Equal(t, "t1.orderflow.ordering.events", cfg.Topic("orderflow.ordering.events"))
	require.Equal(t, "t1-orders", cfg.Index("orders"))

	cfg = valid(t, env, "--kafka-brokers", "c:3", "--dev=false", "--jwt-secret", "s")
	require.Equal(t, []string{"c:3"}, cfg.KafkaBrokers)
	require.False(t, cfg.Dev)
}

// Every variable that does not parse is refused, named with its value,
// instead of leaving the default in place.
func TestMalformedVariablesAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, value, want string }{
		{"ORDERFLOW_MAX_PENDING_COMMANDS", "lots", "not an integer"},
		{"ORDERFLOW_MAX_PENDING_COMMANDS", "1.5", "not an integer"},
		{"ORDERFLOW_MAX_PENDING_COMMANDS", "99999999999999999999", "not an integer"},
		{"ORDERFLOW_MAX_PENDING_COMMANDS", "", "not an integer"},
		{"ORDERFLOW_SHUTDOWN_TIMEOUT", "15", "not a duration"},
		{"ORDERFLOW_SHUTDOWN_TIMEOUT", "soon", "not a duration"},
		{"ORDERFLOW_PAYMENT_LATENCY", "20", "not a duration"},
		{"ORDERFLOW_RECONCILE_INTERVAL", "300", "not a duration"},
		{"ORDERFLOW_DEV", "yes", "not a boolean"},
		{"ORDERFLOW_DEV", "", "not a boolean"},
		{"ORDERFLOW_PAYMENT_FAULT_RATE", "ten percent", "not a number"},
		{"ORDERFLOW_PAYMENT_REFUSAL_RATE", "0,1", "not a number"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"ORDERFLOW_JWT_SECRET": "s3cret", tc.key: tc.value}
			cfg, err := parse(t, env)
			require.Error(t, err)
			require.NoError(t, cfg.Validate(), "the variable is reported once, not again as a zero value")
			require.Contains(t, err.Error(), tc.key+" "+quote(tc.value))
			require.Contains(t, err.Error(), tc.want)

			cfg, err = parse(t, env, "--"+flagName(tc.key), validValue(tc.key))
			require.Error(t, err, "a flag does not excuse a malformed variable")
			require.NoError(t, cfg.Validate(), "the variable is reported once, not again as a zero value")
		})
	}
}

// Values that parse but make no sense are Validate's to refuse, again
// naming the variable, its flag and the value.
func TestValidateRefusesValuesOutOfRange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, value, want string }{
		{"ORDERFLOW_MAX_PENDING_COMMANDS", "-1", "must not be negative"},
		{"ORDERFLOW_SHUTDOWN_TIMEOUT", "-5s", "must be positive"},
		{"ORDERFLOW_SHUTDOWN_TIMEOUT", "0s", "must be positive"},
		{"ORDERFLOW_PAYMENT_LATENCY", "-1ms", "must not be negative"},
		{"ORDERFLOW_RECONCILE_INTERVAL", "-1m", "must not be negative"},
		{"ORDERFLOW_RECONCILE_FULL_INTERVAL", "-1h", "must not be negative"},
		{"ORDERFLOW_RECONCILE_PAGE_REST", "-1", "between 0 (flat out) and 100"},
		{"ORDERFLOW_RECONCILE_PAGE_REST", "101", "between 0 (flat out) and 100"},
		{"ORDERFLOW_RECONCILE_PAGE_REST", "NaN", "between 0 (flat out) and 100"},
		{"ORDERFLOW_RECONCILE_PAGE_REST", "+Inf", "between 0 (flat out) and 100"},
		{"ORDERFLOW_PAYMENT_FAULT_RATE", "1.5", "between 0 and 1"},
		{"ORDERFLOW_PAYMENT_FAULT_RATE", "-0.1", "between 0 and 1"},
		{"ORDERFLOW_PAYMENT_FAULT_RATE", "NaN", "between 0 and 1"},
		{"ORDERFLOW_PAYMENT_REFUSAL_RATE", "+Inf", "between 0 and 1"},
		{"ORDERFLOW_LOG_LEVEL", "loud", "debug, info, warn, error"},
		{"ORDERFLOW_LOG_LEVEL", "", "debug, info, warn, error"},
		{"ORDERFLOW_KAFKA_BROKERS", "", "no broker"},
		{"ORDERFLOW_KAFKA_BROKERS", " , ", "no broker"},
		{"ORDERFLOW_KAFKA_BROKERS", "localhost", "must be host:port"},
		{"ORDERFLOW_KAFKA_BROKERS", "a:1,b:port", "not a number"},
		{"ORDERFLOW_KAFKA_BROKERS", ":9092", "must be host:port"},
		{"ORDERFLOW_HTTP_ADDR", "8080", "host:port"},
		{"ORDERFLOW_HTTP_ADDR", ":http", "not a number"},
		{"ORDERFLOW_HTTP_ADDR", ":70000", "not a number"},
		{"ORDERFLOW_POSTGRES_URL", "", "is empty"},
		{"ORDERFLOW_POSTGRES_URL", "mysql://db/orderflow", "postgres://"},
		{"ORDERFLOW_POSTGRES_URL", "host=db user=postgres", "postgres://"},
		{"ORDERFLOW_POSTGRES_URL", "postgres://db:port/x", "is not a URL"},
		{"ORDERFLOW_ORDERING_POSTGRES_URL", "postgres://%zz", "is not a URL"},
		{"ORDERFLOW_ELASTICSEARCH_URL", "", "is empty"},
		{"ORDERFLOW_ELASTICSEARCH_URL", "localhost:9200", "http://"},
		{"ORDERFLOW_ELASTICSEARCH_URL", "http://", "has no host"},
		{"ORDERFLOW_ELASTICSEARCH_URL", "http://[::1", "is not a URL"},
		{"ORDERFLOW_NAMESPACE", "Team A", "must be 1 to 64"},
		{"ORDERFLOW_NAMESPACE", "-t1", "must be 1 to 64"},
		{"ORDERFLOW_NAMESPACE", strings.Repeat("n", 65), "must be 1 to 64"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			cfg, err := parse(t, map[string]string{"ORDERFLOW_DEV": "true", tc.key: tc.value})
			require.NoError(t, err, "it parses")
			err = cfg.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.key+" (--"+flagName(tc.key)+")")
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestValidateReportsEveryProblemAndNoSecret(t *testing.T) {
	t.Parallel()
	cfg, err := parse(t, map[string]string{
		"ORDERFLOW_JWT_SECRET":   "",
		"ORDERFLOW_DEV":          "true",
		"ORDERFLOW_POSTGRES_URL": "mysql://root:hunter2@db/orderflow",
		"ORDERFLOW_LOG_LEVEL":    "loud",
	})
	require.NoError(t, err)
	err = cfg.Validate()
	require.ErrorContains(t, err, "ORDERFLOW_JWT_SECRET (--jwt-secret) is empty")
	require.ErrorContains(t, err, "ORDERFLOW_LOG_LEVEL")
	require.ErrorContains(t, err, `ORDERFLOW_POSTGRES_URL (--postgres-url) "mysql://root:xxxxx@db/orderflow"`)
	require.NotContains(t, err.Error(), "hunter2", "passwords are not quoted")

	cfg, err = parse(t, map[string]string{"ORDERFLOW_ELASTICSEARCH_URL": "http://es:secret@[::1"}, "--dev")
	require.NoError(t, err)
	require.NotContains(t, cfg.Validate().Error(), "secret", "nor in a URL that does not parse")
}

func TestPaymentFaults(t *testing.T) {
	t.Parallel()
	cfg := valid(t, map[string]string{"ORDERFLOW_DEV": "true", "ORDERFLOW_PAYMENT_FAULT_RATE": "0.1", "ORDERFLOW_PAYMENT_LATENCY": "20ms"})
	require.True(t, cfg.PaymentFaults.Enabled())
	require.Equal(t, 0.1, cfg.PaymentFaults.TransientErrorRate)
	require.Equal(t, 20*time.Millisecond, cfg.PaymentFaults.Latency)
	require.False(t, valid(t, dev).PaymentFaults.Enabled())

	cfg, err := parse(t, dev, "--payment-refusal-rate", "1.5")
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Validate(), `ORDERFLOW_PAYMENT_REFUSAL_RATE (--payment-refusal-rate) "1.5": must be between 0 and 1`)
}

func TestMalformedFlagsAreRefused(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--max-pending-commands", "lots"},
		{"--shutdown-timeout", "15"},
		{"--payment-fault-rate", "x"},
		{"--dev=maybe"},
	} {
		cfg := Default()
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		var out strings.Builder
		fs.SetOutput(&out)
		require.NoError(t, cfg.RegisterFlags(fs, func(string) (string, bool) { return "", false }))
		err := fs.Parse(args)
		require.Error(t, err, "%v", args)
		require.Contains(t, err.Error(), "invalid")
	}
}

func flagName(key string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, "ORDERFLOW_")), "_", "-")
}

func validValue(key string) string {
	switch key {
	case "ORDERFLOW_DEV":
		return "true"
	case "ORDERFLOW_SHUTDOWN_TIMEOUT", "ORDERFLOW_PAYMENT_LATENCY", "ORDERFLOW_RECONCILE_INTERVAL", "ORDERFLOW_RECONCILE_FULL_INTERVAL":
		return "1s"
	default:
		return "0"
	}
}

func quote(s string) string { return `"` + s + `"` }

// A misspelt or retired ORDERFLOW_* variable is refused with the closest
// known name, never ignored; the variables of the project's scripts pass.
func TestUnknownVariablesAreRefused(t *testing.T) {
	t.Parallel()
	cfg := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	require.NoError(t, cfg.RegisterFlags(fs, func(string) (string, bool) { return "", false }))

	err := UnknownVariables([]string{
		"PATH=/usr/bin",
		"ORDERFLOW_KAFKA_BROKER=k:9092",
		"ORDERFLOW_KAFKA_BROKERS=k:9092",
		"ORDERFLOW_SHUTDOWNTIMEOUT=5s",
		"ORDERFLOW_STATE_DIR=/tmp/x",
		"ORDERFLOW_LB_PORT=8680",
		"ORDERFLOW_DEV=true",
	}, fs)
	require.Error(t, err)
	require.Contains(t, err.Error(), "ORDERFLOW_KAFKA_BROKER: not a variable of orderflow (did you mean ORDERFLOW_KAFKA_BROKERS?")
	require.Contains(t, err.Error(), "ORDERFLOW_SHUTDOWNTIMEOUT: not a variable of orderflow (did you mean ORDERFLOW_SHUTDOWN_TIMEOUT?")
	require.Len(t, strings.Split(err.Error(), "\n"), 2, "only the two unknown ones: %v", err)

	require.NoError(t, UnknownVariables([]string{"ORDERFLOW_NAMESPACE=x", "ORDERFLOW_PG_PORT=5533", "HOME=/root"}, fs))
}
