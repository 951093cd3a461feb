// Package tracing follows one order through every process with
// OpenTelemetry: the GraphQL request, the command and its events, the
// outbox relay, Kafka (W3C trace context in the record headers), the saga,
// the other contexts' command handlers and the projector, so one order is
// one trace. The trace context also lands in each event's metadata
// (traceparent, trace_id), so the trace id of an event is there to look up.
//
// Tracing is off unless an OTLP endpoint is configured (Setup). Off, every
// function here returns at once after one atomic load: no spans, no
// headers, no metadata.
package tracing

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Keys of the trace context in message headers and event metadata.
const (
	// HeaderTraceParent is the W3C traceparent.
	HeaderTraceParent = "traceparent"
	// HeaderTraceState is the W3C tracestate.
	HeaderTraceState = "tracestate"
	// MetadataTraceID is the trace id in an event's metadata, for people
	// and queries (metadata->>'trace_id').
	MetadataTraceID = "trace_id"
)

// instrumentation names the tracer.
const instrumentation = "github.com/orderflow/orderflow"

var (
	enabled    atomic.Bool
	tracer     atomic.Pointer[trace.Tracer]
	propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
)

// Enabled reports whether spans are recorded and trace context is carried.
func Enabled() bool { return enabled.Load() }

// Setup exports spans with OTLP over HTTP to endpoint (a base URL such as
// http://collector:4318, to which /v1/traces is added when it has no
// path). An empty endpoint leaves tracing off. The returned shutdown
// flushes what is buffered.
func Setup(ctx context.Context, endpoint, service string) (shutdown func(context.Context) error, err error) {
	if endpoint == "" {
		return func(context.Context) error { return nil }, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("OTLP endpoint %q: want a URL such as http://collector:4318", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(u.String()))
	if err != nil {
		return nil, fmt.Errorf("OTLP exporter for %s: %w", u, err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	restore := Use(tp)
	return func(ctx context.Context) error {
		restore()
		return tp.Shutdown(ctx)
	}, nil
}

// Use records spans with tp (tests pass one with an in-memory recorder)
// until restore is called.
func Use(tp trace.TracerProvider) (restore func()) {
	t := tp.Tracer(instrumentation)
	tracer.Store(&t)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	enabled.Store(true)
	return func() {
		enabled.Store(false)
		n := noop.NewTracerProvider().Tracer(instrumentation)
		tracer.Store(&n)
	}
}

// Start starts a span named name, a child of the trace context in parent
// (a message's headers) when there is one, else of ctx's span. Off, it
// returns ctx and a span that does nothing.
func Start(ctx context.Context, parent map[string]string, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !enabled.Load() {
		return ctx, trace.SpanFromContext(context.Background())
	}
	if parent[HeaderTraceParent] != "" {
		ctx = propagator.Extract(ctx, propagation.MapCarrier(parent))
	}
	return (*tracer.Load()).Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// StartHTTP is Start for an incoming request's headers.
func StartHTTP(ctx context.Context, header propagation.HeaderCarrier, name string) (context.Context, trace.Span) {
	if !enabled.Load() {
		return ctx, trace.SpanFromContext(context.Background())
	}
	ctx = propagator.Extract(ctx, header)
	return (*tracer.Load()).Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
}

// Carry returns the trace context of ctx's span as headers and metadata
// (traceparent, tracestate, trace_id); nil when off or without a span.
func Carry(ctx context.Context) map[string]string {
	if !enabled.Load() {
		return nil
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	m := propagation.MapCarrier{}
	propagator.Inject(ctx, m)
	m[MetadataTraceID] = sc.TraceID().String()
	return m
}

// Headers keeps of m (event metadata) the keys that travel as message
// headers; nil when there are none.
func Headers(m map[string]string) map[string]string {
	tp := m[HeaderTraceParent]
	if tp == "" {
		return nil
	}
	h := map[string]string{HeaderTraceParent: tp}
	if ts := m[HeaderTraceState]; ts != "" {
		h[HeaderTraceState] = ts
	}
	return h
}

// End ends span, marking it failed when err is not nil.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
