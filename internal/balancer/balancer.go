// Package balancer is the local load balancer of `orderflow lb`: a reverse
// proxy (net/http/httputil) over the api replicas of a local cluster. It
// sends each request to the next replica whose /readyz answers 200, and a
// request that could not be delivered (the replica's port closed, its idle
// connection closed by a graceful stop) to another one, so a rolling
// restart of the replicas reaches no client. It proxies websockets too.
package balancer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Backend is one replica.
type Backend struct {
	URL   *url.URL
	ready atomic.Bool
}

// Ready reports whether the last health check passed.
func (b *Backend) Ready() bool { return b.ready.Load() }

// Balancer proxies to its backends round robin.
type Balancer struct {
	backends  []*Backend
	next      atomic.Uint64
	proxy     *httputil.ReverseProxy
	transport http.RoundTripper
	checks    *http.Client
	logger    *slog.Logger
	// CheckInterval is the period of the readiness checks.
	CheckInterval time.Duration
}

// New returns a balancer over targets (base URLs, e.g. http://127.0.0.1:8181).
func New(targets []string, logger *slog.Logger) (*Balancer, error) {
	if len(targets) == 0 {
		return nil, errors.New("no backends")
	}
	b := &Balancer{
		logger:        logger,
		CheckInterval: 250 * time.Millisecond,
		checks:        &http.Client{Timeout: time.Second},
		transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	for _, t := range targets {
		u, err := url.Parse(t)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("backend %q is not an http(s) URL", t)
		}
		b.backends = append(b.backends, &Backend{URL: u})
	}
	b.proxy = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetXForwarded() },
		Transport: roundTripper(b.roundTrip),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			b.logger.Warn("request not delivered to any backend", "path", r.URL.Path, "error", err)
			http.Error(w, "no api replica reachable", http.StatusBadGateway)
		},
	}
	return b, nil
}

// Backends are the replicas, for status displays.
func (b *Balancer) Backends() []*Backend { return b.backends }

// ServeHTTP proxies r.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.proxy.ServeHTTP(w, r) }

// maxBufferedBody bounds a proxied request body.
const maxBufferedBody = 8 << 20

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// roundTrip sends r to the ready backends in turn, starting with the next
// one, until one takes it. Only a request that certainly did not reach a
// backend is sent to another (see undelivered): a request may not be safe
// to repeat.
func (b *Balancer) roundTrip(r *http.Request) (*http.Response, error) {
	// The transport closes a request's body even when it could not send
	// it: keep it to send again (API requests are small).
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBufferedBody+1))
		_ = r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if len(body) > maxBufferedBody {
			return nil, fmt.Errorf("request body over %d bytes", maxBufferedBody)
		}
	}
	order := b.order()
	var errs []error
	for _, be := range order {
		out := r.Clone(r.Context())
		if body != nil {
			out.Body = io.NopCloser(bytes.NewReader(body))
			out.ContentLength = int64(len(body))
		}
		out.URL.Scheme, out.URL.Host = be.URL.Scheme, be.URL.Host
		out.Host = be.URL.Host
		resp, err := b.transport.RoundTrip(out)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", be.URL.Host, err))
		if !undelivered(err) || r.Context().Err() != nil {
			break
		}
		be.ready.Store(false)
	}
	return nil, errors.Join(errs...)
}

// order is every backend, the ready ones first, starting with the next in
// turn.
func (b *Balancer) order() []*Backend {
	n := len(b.backends)
	start := int(b.next.Add(1) % uint64(n))
	var ready, rest []*Backend
	for i := range n {
		be := b.backends[(start+i)%n]
		if be.Ready() {
			ready = append(ready, be)
		} else {
			rest = append(rest, be)
		}
	}
	return append(ready, rest...)
}

// undelivered reports an error that means the request never reached the
// backend: no connection could be made, or the pooled connection had been
// closed by the server before the request was written.
func undelivered(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return strings.Contains(err.Error(), "server closed idle connection")
}

// Run checks the backends' readiness until ctx ends.
func (b *Balancer) Run(ctx context.Context) error {
	t := time.NewTicker(b.CheckInterval)
	defer t.Stop()
	for {
		for _, be := range b.backends {
			b.check(ctx, be)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (b *Balancer) check(ctx context.Context, be *Backend) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, be.URL.JoinPath("/readyz").String(), nil)
	if err != nil {
		return
	}
	ok := false
	if resp, err := b.checks.Do(req); err == nil {
		ok = resp.StatusCode == http.StatusOK
		_ = resp.Body.Close()
	}
	if was := be.ready.Swap(ok); was != ok {
		b.logger.Info("backend readiness changed", "backend", be.URL.Host, "ready", ok)
	}
}
