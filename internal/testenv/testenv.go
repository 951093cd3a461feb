// Package testenv gives each test an isolated slice of the real servers
// started by deploy/local/deps: its own PostgreSQL database (cloned from a
// migrated template), and a namespace that prefixes its Kafka topics,
// consumer groups and Elasticsearch indexes. Everything is removed when the
// test ends, so tests run in parallel and leave nothing shared behind.
//
// A server that cannot be reached fails the test with a message naming it;
// nothing here ever skips.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/elastic/go-elasticsearch/v8"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/elastic"
	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/postgres"
	"github.com/orderflow/orderflow/migrations"
)

const startHint = "start the servers with `deploy/local/deps start` (make test does this)"

// Env is one test's view of the servers.
type Env struct {
	// Config points at the test's own database and namespace.
	Config config.Config
	// Pool is connected to the test's own database.
	Pool *pgxpool.Pool
	// Elastic is a client of the shared cluster; use Config.Index for names.
	Elastic *elasticsearch.Client
	// Logger writes through t.Log, so output shows only for failing tests.
	Logger *slog.Logger
}

// New prepares an isolated environment for t and registers its cleanup.
func New(t testing.TB) *Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	logs := &testWriter{t: t}
	t.Cleanup(logs.close) // registered first, so it runs after every other cleanup

	base := baseConfig()
	id := randomID()
	cfg := base
	cfg.Namespace = "t" + id
	cfg.HTTPAddr = "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test configuration: %v", err)
	}

	dbURL := createDatabase(ctx, t, base.PostgresURL, "test_"+id)
	cfg.PostgresURL = dbURL
	pool, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("PostgreSQL: %v; %s", err, startHint)
	}
	t.Cleanup(pool.Close)

	if err := kafka.Ping(cfg.KafkaBrokers); err != nil {
		t.Fatalf("Kafka: %v; %s", err, startHint)
	}
	t.Cleanup(func() { deleteKafkaNamespace(t, cfg) })

	es, err := elastic.NewClient(cfg.ElasticsearchURL)
	if err != nil {
		t.Fatalf("Elasticsearch: %v", err)
	}
	if err := elastic.Ping(ctx, es); err != nil {
		t.Fatalf("Elasticsearch at %s: %v; %s", cfg.ElasticsearchURL, err, startHint)
	}
	t.Cleanup(func() { deleteIndexes(t, es, cfg.Index("*")) })

	return &Env{Config: cfg, Pool: pool, Elastic: es, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
}

// baseConfig is the local default, overridable through the same
// ORDERFLOW_* variables the binary reads (e.g. to test against other
// servers).
func baseConfig() config.Config {
	cfg := config.Default()
	// Tests opt in to development mode, as `make run` does: the built-in
	// JWT secret (tests mint tokens with Config.JWTSecret) and
	// introspection.
	cfg.Dev = true
	if v, ok := os.LookupEnv("ORDERFLOW_POSTGRES_URL"); ok {
		cfg.PostgresURL = v
	}
	if v, ok := os.LookupEnv("ORDERFLOW_KAFKA_BROKERS"); ok {
		cfg.KafkaBrokers = strings.Split(v, ",")
	}
	if v, ok := os.LookupEnv("ORDERFLOW_ELASTICSEARCH_URL"); ok {
		cfg.ElasticsearchURL = v
	}
	return cfg
}

func randomID() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createDatabase clones a migrated template into a database of the test's
// own and drops it at cleanup. The template's name carries a hash of the
// migrations, so a changed migration builds a fresh template.
func createDatabase(ctx context.Context, t testing.TB, baseURL, name string) string {
	t.Helper()
	admin, err := pgx.Connect(ctx, withDatabase(baseURL, "postgres"))
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v; %s", redact(baseURL), err, startHint)
	}
	defer admin.Close(ctx)

	template := "orderflow_template_" + migrationsHash()
	ensureTemplate(ctx, t, admin, baseURL, template)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, withDatabase(baseURL, "postgres"))
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(baseURL, name)
}

func ensureTemplate(ctx context.Context, t testing.TB, admin *pgx.Conn, baseURL, template string) {
	t.Helper()
	// Test binaries of several packages run at once: one builds the
	// template, the others wait on the lock and then find it.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext('orderflow-test-template'))"); err != nil {
		t.Fatalf("lock test template: %v", err)
	}
	defer func() {
		_, _ = admin.Exec(context.Background(), "SELECT pg_advisory_unlock(hashtext('orderflow-test-template'))")
	}()

	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		t.Fatalf("look up test template: %v", err)
	}
	if exists {
		return
	}
	building := template + "_building"
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		t.Fatalf("drop half-built template: %v", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		t.Fatalf("create test template: %v", err)
	}
	pool, err := postgres.Open(ctx, withDatabase(baseURL, building))
	if err != nil {
		t.Fatalf("open test template: %v", err)
	}
	err = postgres.Migrate(ctx, pool, slog.New(slog.DiscardHandler))
	pool.Close()
	if err != nil {
		t.Fatalf("migrate test template: %v", err)
	}
	// Renaming last means a crash mid-migration never leaves a template
	// that looks complete.
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, template)); err != nil {
		t.Fatalf("publish test template: %v", err)
	}
}

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDatabase(raw, db string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + db
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}

func deleteKafkaNamespace(t testing.TB, cfg config.Config) {
	admin, err := sarama.NewClusterAdmin(cfg.KafkaBrokers, kafka.SaramaConfig("orderflow-test-cleanup"))
	if err != nil {
		t.Errorf("kafka cleanup: %v", err)
		return
	}
	defer admin.Close()
	prefix := cfg.Topic("")
	topics, err := admin.ListTopics()
	if err != nil {
		t.Errorf("kafka cleanup: list topics: %v", err)
		return
	}
	var mine []string
	for name := range topics {
		if strings.HasPrefix(name, prefix) {
			mine = append(mine, name)
		}
	}
	if err := kafka.DeleteTopics(cfg.KafkaBrokers, mine...); err != nil {
		t.Errorf("kafka cleanup: %v", err)
	}
	groups, err := admin.ListConsumerGroups()
	if err != nil {
		t.Errorf("kafka cleanup: list groups: %v", err)
		return
	}
	for g := range groups {
		if strings.HasPrefix(g, cfg.ConsumerGroup("")) {
			_ = admin.DeleteConsumerGroup(g) // a group still closing is removed by the broker later
		}
	}
}

func deleteIndexes(t testing.TB, es *elasticsearch.Client, pattern string) {
	res, err := es.Indices.Delete([]string{pattern}, es.Indices.Delete.WithExpandWildcards("all"), es.Indices.Delete.WithIgnoreUnavailable(true))
	if err != nil {
		t.Errorf("elasticsearch cleanup of %s: %v", pattern, err)
		return
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Errorf("elasticsearch cleanup of %s: %s", pattern, res.String())
	}
}

// testWriter sends log lines to t.Log until the test is over; a goroutine
// that logs later must not panic the test binary.
type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}
