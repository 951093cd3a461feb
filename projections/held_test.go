package projections_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
)

// insertProductEvent appends one event of a product stream with a plain
// INSERT, past the command path and its validation, as an event written
// before any bound existed sits in the store. The relay publishes it.
func (w *world) insertProductEvent(e messages.Event, version int) {
	w.t.Helper()
	data, err := json.Marshal(e)
	require.NoError(w.t, err)
	_, err = w.svc.Pools[config.Inventory].Exec(context.Background(), `INSERT INTO inventory.events (event_id, stream_id, stream_type, version, event_type, data)
		VALUES ($1, $2, 'Product', $3, $4, $5::jsonb)`, uuid.New(), e.AggregateID(), version, e.EventType(), string(data))
	require.NoError(w.t, err)
}

// productDoc reads a product document from the live alias.
func (w *world) productDoc(id string) (documents.Product, bool) {
	w.t.Helper()
	return rawDocument[documents.Product](w.t, w, w.proj.Alias(projections.Products), id)
}

// heldRow is a row of projections.held_documents.
type heldRow struct {
	Projection, Index, EventType, Reason string
	Version                              int
}

func (w *world) heldDocuments(n projections.Name, ctx config.Context) map[string]heldRow {
	w.t.Helper()
	rows, err := w.svc.Pools[ctx].Query(context.Background(), `SELECT stream_id, projection, index_name, event_type, reason, version
		FROM projections.held_documents WHERE alias = $1`, w.proj.Alias(n))
	require.NoError(w.t, err)
	out := map[string]heldRow{}
	var id string
	var r heldRow
	_, err = pgx.ForEachRow(rows, []any{&id, &r.Projection, &r.Index, &r.EventType, &r.Reason, &r.Version}, func() error {
		out[id] = r
		return nil
	})
	require.NoError(w.t, err)
	return out
}

// productIDsOnOnePartition returns n product ids that the relay's hash
// partitioner sends to the same partition of the inventory events topic.
func productIDsOnOnePartition(t *testing.T, n int) []string {
	t.Helper()
	partitioner := sarama.NewHashPartitioner("")
	partition := func(id string) int32 {
		p, err := partitioner.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(id)}, service.EventTopicPartitions)
		require.NoError(t, err)
		return p
	}
	ids := []string{"product-held-" + uuid.NewString()[:8]}
	for len(ids) < n {
		if id := "product-held-" + uuid.NewString()[:8]; partition(id) == partition(ids[0]) {
			ids = append(ids, id)
		}
	}
	return ids
}

// logBuffer collects JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// newLogBuffer returns a buffer and a logger writing into it; the lines are
// shown if the test fails.
func newLogBuffer(t *testing.T) (*logBuffer, *slog.Logger) {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			b.mu.Lock()
			t.Log(b.buf.String())
			b.mu.Unlock()
		}
	})
	return b, slog.New(slog.NewJSONHandler(b, nil))
}

// entries returns the log entries with message msg.
func (b *logBuffer) entries(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	require.NoError(t, sc.Err())
	return out
}

// A restock beyond the onHand integer mapping, appended straight to the
// event store, makes Elasticsearch refuse product A's document for good.
// Through the relay and the live projector: product B on the same
// partition keeps updating, A is held at its last accepted version (its
// later events are skipped, also by a projector with fresh memory), the
// partition's offsets advance, and a metric and an error log name A.
// Re-projecting A while the cause remains fails and keeps the hold; after
// a correcting event it releases A, which then follows its events again.
func TestRefusedDocumentHoldsOnlyItsAggregate(t *testing.T) {
	t.Parallel()
	logs, logger := newLogBuffer(t)
	w := setup(t, worldOptions{live: true, relays: true, logger: logger})
	ctx := context.Background()
	ids := productIDsOnOnePartition(t, 2)
	a, b := ids[0], ids[1]

	w.insertProductEvent(messages.ProductCreated{ProductID: a, SKU: "SKU-A", Name: "Anvil", Price: 100, InitialStock: 10}, 1)
	w.insertProductEvent(messages.ProductCreated{ProductID: b, SKU: "SKU-B", Name: "Bucket", Price: 100, InitialStock: 10}, 1)
	require.Eventually(t, func() bool { _, ok := w.productDoc(a); return ok }, time.Minute, 20*time.Millisecond)
	w.insertProductEvent(messages.ProductRestocked{ProductID: a, Quantity: math.MaxInt32}, 2)
	w.insertProductEvent(messages.ProductRestocked{ProductID: b, Quantity: 5}, 2)
	require.Eventually(t, func() bool { return len(w.heldDocuments(projections.Products, config.Inventory)) == 1 }, time.Minute, 20*time.Millisecond,
		"A's refused document is held")
	require.Eventually(t, func() bool { d, ok := w.productDoc(b); return ok && d.Version == 2 }, time.Minute, 20*time.Millisecond)

	// Both later events share the partition: B's is applied, A's skipped.
	w.insertProductEvent(messages.ProductRestocked{ProductID: a, Quantity: 1}, 3)
	w.insertProductEvent(messages.ProductRestocked{ProductID: b, Quantity: 1}, 3)
	require.Eventually(t, func() bool { d, ok := w.productDoc(b); return ok && d.Version == 3 }, time.Minute, 20*time.Millisecond,
		"B keeps updating on the partition A shares")
	bDoc, _ := w.productDoc(b)
	require.Equal(t, 16, bDoc.OnHand)
	aDoc, ok := w.productDoc(a)
	require.True(t, ok)
	require.Equal(t, 1, aDoc.Version, "A stays at its last accepted version")
	require.Equal(t, 10, aDoc.OnHand)

	held := w.heldDocuments(projections.Products, config.Inventory)
	require.Len(t, held, 1)
	row := held[a]
	require.Equal(t, "products", row.Projection)
	require.Equal(t, w.proj.Alias(projections.Products), row.Index)
	require.Equal(t, 2, row.Version)
	require.Equal(t, "inventory.ProductRestocked", row.EventType)
	require.Contains(t, row.Reason, "onHand")

	// The operator finds it in the dead-letter store too, and cannot
	// discard it (the aggregate's skipped events would be lost).
	dl := w.svc.DeadLetterStore()
	page, err := dl.List(ctx, deadletter.Filter{AggregateID: a}, 10, 0)
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	dead := page.Entries[0]
	require.Equal(t, projections.DocumentsHandler(projections.Products), dead.Handler)
	require.Equal(t, deadletter.StatusDead, dead.Status)
	require.Equal(t, deadletter.Permanent, dead.Class)
	require.Contains(t, dead.Error, "onHand")
	require.Error(t, dl.Discard(ctx, dead.ID, "drop it", "ops"))

	require.Equal(t, 1.0, metricValue(t, w, "orderflow_projection_documents_refused_total", "products"))
	require.GreaterOrEqual(t, metricValue(t, w, "orderflow_projection_events_held_total", "products"), 1.0)
	require.Equal(t, 1.0, metricValue(t, w, "orderflow_projection_held_documents", "products"))
	require.Eventually(t, func() bool {
		st, err := w.proj.Status(ctx)
		return err == nil && st[1].Projection == projections.Products && st[1].HeldDocuments == 1 && st[1].LagEvents == 0
	}, time.Minute, 100*time.Millisecond, "the partition's offsets move past A's events")

	entries := logs.entries(t, "document refused by elasticsearch for good, its aggregate is held")
	require.Len(t, entries, 1)
	e := entries[0]
	require.Equal(t, "ERROR", e["level"])
	require.Equal(t, "products", e["projection"])
	require.Equal(t, w.proj.Alias(projections.Products), e["index"])
	require.Equal(t, a, e["document_id"])
	require.Equal(t, "inventory.ProductRestocked", e["event_type"])
	require.Equal(t, "document_parsing_exception", e["error_type"])
	require.Contains(t, e["reason"], "failed to parse field [onHand] of type [integer]")

	// A projector with fresh memory (a restart) still holds A back.
	reg := prometheus.NewRegistry()
	restarted, err := projections.New(projections.DefaultConfig(w.env.Config, w.svc.Elastic, w.svc.Pools, reg, logger))
	require.NoError(t, err)
	w.insertProductEvent(messages.ProductRestocked{ProductID: a, Quantity: 1}, 4)
	stream := w.storeEvents(config.Inventory, a)
	require.NoError(t, restarted.Apply(ctx, projections.Products, stream[len(stream)-1]))
	require.Equal(t, 1.0, registryValue(t, reg, "orderflow_projection_events_held_total", "products"))
	require.Zero(t, registryValue(t, reg, "orderflow_projection_documents_refused_total", "products"), "skipped, not tried again")
	aDoc, _ = w.productDoc(a)
	require.Equal(t, 1, aDoc.Version)

	// Re-projecting while the value still overflows: refused, still held.
	err = w.proj.Reproject(ctx, projections.Products, a)
	require.ErrorContains(t, err, "failed to parse field [onHand]")
	require.Contains(t, w.heldDocuments(projections.Products, config.Inventory), a)
	require.Equal(t, 4, w.heldDocuments(projections.Products, config.Inventory)[a].Version)

	// A correcting event brings the stock back in range; re-projecting
	// writes the whole stream and releases A.
	w.insertProductEvent(messages.ProductRestocked{ProductID: a, Quantity: -math.MaxInt32}, 5)
	require.NoError(t, w.proj.Reproject(ctx, projections.Products, a))
	require.Empty(t, w.heldDocuments(projections.Products, config.Inventory))
	got, err := dl.Get(ctx, dead.ID)
	require.NoError(t, err)
	require.Equal(t, deadletter.StatusReplayed, got.Status, "released: resolved in the dead-letter store")
	aDoc, _ = w.productDoc(a)
	require.Equal(t, 5, aDoc.Version)
	require.Equal(t, 12, aDoc.OnHand)
	w.insertProductEvent(messages.ProductRestocked{ProductID: a, Quantity: 1}, 6)
	require.Eventually(t, func() bool { d, _ := w.productDoc(a); return d.Version == 6 && d.OnHand == 13 }, time.Minute, 20*time.Millisecond,
		"a released aggregate follows its events again")
}

// A product whose 40 KB sku no keyword field takes is refused by
// Elasticsearch during a rebuild: the rebuild finishes, names it, and the
// new index has every other document; the refused one keeps its last
// accepted version (none here: its first event carries the sku).
func TestRebuildCarriesOnPastARefusedDocument(t *testing.T) {
	t.Parallel()
	w := setup(t, worldOptions{})
	ctx := context.Background()
	a, b, c := "product-a-"+uuid.NewString()[:8], "product-b-"+uuid.NewString()[:8], "product-c-"+uuid.NewString()[:8]
	w.insertProductEvent(messages.ProductCreated{ProductID: b, SKU: "SKU-B", Name: "Bucket", Price: 100, InitialStock: 1}, 1)
	w.insertProductEvent(messages.ProductCreated{ProductID: a, SKU: strings.Repeat("s", 40<<10), Name: "Anvil", Price: 100, InitialStock: 1}, 1)
	w.insertProductEvent(messages.ProductRestocked{ProductID: a, Quantity: 1}, 2)
	w.insertProductEvent(messages.ProductRestocked{ProductID: b, Quantity: 1}, 2)
	w.insertProductEvent(messages.ProductCreated{ProductID: c, SKU: "SKU-C", Name: "Chisel", Price: 100, InitialStock: 1}, 1)

	res, err := w.proj.Rebuild(ctx, projections.Products, projections.RebuildOptions{BatchSize: 2})
	require.NoError(t, err, "a refused document does not stop the rebuild")
	require.Equal(t, []string{a}, res.Refused)
	require.Equal(t, res.Index, liveIndex(t, w, projections.Products), "the rebuilt index is live")

	bDoc, ok := w.productDoc(b)
	require.True(t, ok)
	require.Equal(t, 2, bDoc.Version)
	require.Equal(t, 2, bDoc.OnHand)
	cDoc, ok := w.productDoc(c)
	require.True(t, ok)
	require.Equal(t, 1, cDoc.Version)
	_, ok = w.productDoc(a)
	require.False(t, ok)
}
