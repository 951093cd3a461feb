package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/money"
	"github.com/orderflow/orderflow/internal/systemtest"
	"github.com/orderflow/orderflow/internal/tracing"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/timeline"
)

// The tests of this package do not run in parallel: tracing is switched on
// and off for the whole process (the OpenTelemetry globals), and only here.

// Off (the default), a message's trace context is ignored, no span is
// recorded and nothing is carried into headers or metadata.
func TestOffCarriesNothing(t *testing.T) {
	require.False(t, tracing.Enabled())
	ctx, span := tracing.Start(context.Background(), map[string]string{
		tracing.HeaderTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	}, "x", trace.SpanKindInternal)
	defer span.End()
	require.False(t, span.SpanContext().IsValid())
	require.False(t, span.IsRecording())
	require.Nil(t, tracing.Carry(ctx))
}

// One order placed over GraphQL is one trace: the request, the saga, the
// inventory and payments command handlers, the outbox relay's publishes
// and the projector, each a span in the trace of the one before (through
// Kafka headers), and every event of every context records the trace id
// in its metadata.
func TestOneOrderIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(tracing.Use(tp))
	ctx := context.Background()

	sys := systemtest.Start(t, systemtest.Options{API: true})
	p, err := sys.App.Commands.CreateProduct.Handle(ctx, systemtest.Admin, app.CreateProduct{
		SKU: fmt.Sprintf("SKU-%d", rand.IntN(1e9)), Name: "Mug", Price: 12_50, InitialStock: 10,
	})
	require.NoError(t, err)
	c, err := sys.App.Commands.RegisterCustomer.Handle(ctx, systemtest.Admin, app.RegisterCustomer{
		Email: fmt.Sprintf("c%d@example.com", rand.IntN(1e9)), Name: "Customer", InitialCredit: money.Amount(100_00),
	})
	require.NoError(t, err)

	token, err := auth.Issue([]byte(sys.Env.Config.JWTSecret), c.ID, time.Hour, auth.RoleCustomer)
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{
		"query": `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { order { id } } }`,
		"variables": map[string]any{"in": map[string]any{
			"idempotencyKey":  "traced",
			"items":           []map[string]any{{"productId": p.ID, "quantity": 1}},
			"shippingAddress": map[string]any{"street": "1 Main St", "city": "Springfield", "zip": "12345", "country": "US"},
			"paymentMethod":   map[string]any{"type": "card", "token": "tok_4242424242424242"},
		}},
	})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, sys.URL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var placed struct {
		Data struct {
			PlaceOrder struct{ Order struct{ ID string } }
		}
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&placed))
	require.NoError(t, res.Body.Close())
	orderID := placed.Data.PlaceOrder.Order.ID
	require.NotEmpty(t, orderID)

	t.Cleanup(func() {
		if t.Failed() {
			tl, _, _ := timeline.NewReader(sys.Service.Pools).Order(ctx, orderID)
			var b bytes.Buffer
			_ = tl.WriteText(&b)
			t.Logf("the order's story:\n%s\nspans: %s", b.String(), strings.Join(spanNames(rec), ", "))
		}
	})
	// Confirmed and projected: the projector's span of OrderConfirmed is
	// the last hop.
	require.Eventually(t, func() bool {
		o, err := sys.App.Queries.Order.Handle(ctx, systemtest.Admin, orderID, 0)
		return err == nil && o.Status == messages.StatusConfirmed && hasSpan(rec, "project orders ordering.OrderConfirmed") &&
			hasSpan(rec, "payments.capture-payment") // settlement's last command, after the commit
	}, time.Minute, 50*time.Millisecond, "the order is confirmed, projected and settled")

	var root sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "POST /graphql" {
			root = s
		}
	}
	require.NotNil(t, root, "the request's span")
	require.False(t, root.Parent().IsValid(), "the request starts the trace")
	traceID := root.SpanContext().TraceID()

	inTrace := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == traceID {
			inTrace[s.SpanContext().SpanID()] = s
		}
	}
	var names []string
	for _, s := range inTrace {
		names = append(names, s.Name())
		if s != root {
			_, ok := inTrace[s.Parent().SpanID()]
			require.True(t, ok, "span %q has its parent in the trace", s.Name())
		}
	}
	for _, want := range []string{
		// The saga's consumer skips the placement's OrderPlaced: the
		// saga started with it, in the placement's transaction.
		"inventory.reserve-stock", "saga inventory.StockReserved",
		"payments.commands payments.AuthorizePayment", "saga payments.PaymentAuthorized",
		"outbox.publish ordering.OrderPlaced", "outbox.publish ordering.OrderConfirmed",
		"inventory.commit-stock", "payments.capture-payment",
		"project orders ordering.OrderPlaced", "project orders ordering.OrderConfirmed",
	} {
		require.Contains(t, names, want, "spans of the trace: %s", strings.Join(names, ", "))
	}
	// No span of the order's flow sits in another trace.
	for _, s := range rec.Ended() {
		for _, a := range s.Attributes() {
			if a.Key == "orderflow.order_id" && a.Value.AsString() == orderID {
				require.Equal(t, traceID, s.SpanContext().TraceID(), "span %q", s.Name())
			}
		}
	}

	// Every event of every context records the trace id.
	tl, found, err := timeline.NewReader(sys.Service.Pools).Order(ctx, orderID)
	require.NoError(t, err)
	require.True(t, found)
	events := 0
	for _, e := range tl.Entries {
		if e.Kind == timeline.KindEvent {
			events++
			require.Equal(t, traceID.String(), e.TraceID, "event %s of %s", e.Name, e.Context)
		}
	}
	require.GreaterOrEqual(t, events, 6, "ordering, inventory and payments events")
}

func hasSpan(rec *tracetest.SpanRecorder, name string) bool {
	for _, s := range rec.Ended() {
		if s.Name() == name {
			return true
		}
	}
	return false
}

func spanNames(rec *tracetest.SpanRecorder) []string {
	var out []string
	for _, s := range rec.Ended() {
		out = append(out, s.Name())
	}
	return out
}

// Configured with an endpoint, spans leave over OTLP/HTTP to its
// /v1/traces (a local HTTP server stands for the collector and only
// records what arrives), and shutdown flushes them.
func TestSetupExportsOverOTLP(t *testing.T) {
	got := make(chan *http.Request, 10)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	_, err := tracing.Setup(context.Background(), "not a url", "orderflow-test")
	require.Error(t, err)
	require.False(t, tracing.Enabled())

	shutdown, err := tracing.Setup(context.Background(), collector.URL, "orderflow-test")
	require.NoError(t, err)
	require.True(t, tracing.Enabled())
	_, span := tracing.Start(context.Background(), nil, "exported", trace.SpanKindInternal)
	span.End()
	require.NoError(t, shutdown(context.Background()))
	require.False(t, tracing.Enabled(), "shut down, tracing is off again")

	select {
	case r := <-got:
		require.Equal(t, http.MethodPost, r.Method)
		require.Equal(t, "/v1/traces", r.URL.Path)
		require.Equal(t, "application/x-protobuf", r.Header.Get("Content-Type"))
	case <-time.After(10 * time.Second):
		t.Fatal("no OTLP export arrived")
	}
}
