package config

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, env map[string]string, args ...string) Config {
	t.Helper()
	cfg := Default()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	require.NoError(t, fs.Parse(args))
	return cfg
}

func TestDefaultsMatchLocalDeps(t *testing.T) {
	t.Parallel()
	cfg := parse(t, nil)
	require.NoError(t, cfg.Validate())
	require.Equal(t, ":8080", cfg.HTTPAddr)
	require.Equal(t, []string{"127.0.0.1:9092"}, cfg.KafkaBrokers)
	require.Equal(t, DefaultPostgresURL, cfg.DatabaseURL(Payments))
	require.Equal(t, []string{DefaultPostgresURL}, cfg.DatabaseURLs())
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ORDERFLOW_HTTP_ADDR":             ":9000",
		"ORDERFLOW_KAFKA_BROKERS":         "a:1, b:2",
		"ORDERFLOW_PAYMENTS_POSTGRES_URL": "postgres://pay",
		"ORDERFLOW_SHUTDOWN_TIMEOUT":      "3s",
		"ORDERFLOW_NAMESPACE":             "t1",
	}
	cfg := parse(t, env, "--http-addr", ":9100")
	require.Equal(t, ":9100", cfg.HTTPAddr)
	require.Equal(t, []string{"a:1", "b:2"}, cfg.KafkaBrokers)
	require.Equal(t, "postgres://pay", cfg.DatabaseURL(Payments))
	require.Equal(t, DefaultPostgresURL, cfg.DatabaseURL(Ordering))
	require.Len(t, cfg.DatabaseURLs(), 2)
	require.Equal(t, 3*time.Second, cfg.ShutdownTimeout)
	require.Equal(t, "t1.orderflow.ordering.events", cfg.Topic("orderflow.ordering.events"))
	require.Equal(t, "t1-orders", cfg.Index("orders"))

	cfg = parse(t, env, "--kafka-brokers", "c:3")
	require.Equal(t, []string{"c:3"}, cfg.KafkaBrokers)
}

func TestValidateRejectsDefaultSecretOutsideDevMode(t *testing.T) {
	t.Parallel()
	cfg := parse(t, map[string]string{"ORDERFLOW_DEV": "false"})
	require.ErrorContains(t, cfg.Validate(), "ORDERFLOW_JWT_SECRET")

	cfg = parse(t, map[string]string{"ORDERFLOW_DEV": "false", "ORDERFLOW_JWT_SECRET": "s3cret"})
	require.NoError(t, cfg.Validate())

	cfg = parse(t, nil, "--log-level", "loud", "--postgres-url", "")
	err := cfg.Validate()
	require.ErrorContains(t, err, "log level")
	require.ErrorContains(t, err, "postgres url")
}

func TestPaymentFaults(t *testing.T) {
	t.Parallel()
	cfg := parse(t, map[string]string{"ORDERFLOW_PAYMENT_FAULT_RATE": "0.1", "ORDERFLOW_PAYMENT_LATENCY": "20ms"})
	require.True(t, cfg.PaymentFaults.Enabled())
	require.Equal(t, 0.1, cfg.PaymentFaults.TransientErrorRate)
	require.Equal(t, 20*time.Millisecond, cfg.PaymentFaults.Latency)
	require.NoError(t, cfg.Validate())
	require.False(t, parse(t, nil).PaymentFaults.Enabled())

	cfg = parse(t, nil, "--payment-refusal-rate", "1.5")
	require.ErrorContains(t, cfg.Validate(), "payment refusal rate")
}
