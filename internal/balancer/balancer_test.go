package balancer_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/balancer"
)

func backend(t *testing.T, name string, ready bool) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" && !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = io.WriteString(w, name+":"+string(body))
	}))
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "text/plain", stringsReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type reader struct {
	s string
	i int
}

func (r *reader) Read(p []byte) (int, error) {
	if r.i >= len(r.s) {
		return 0, io.EOF
	}
	n := copy(p, r.s[r.i:])
	r.i += n
	return n, nil
}

func stringsReader(s string) io.Reader { return &reader{s: s} }

// Requests go round robin to the ready replicas; a replica whose port is
// closed (stopped) or that is not ready gets none, and no request fails.
func TestBalancerSkipsStoppedAndUnreadyReplicas(t *testing.T) {
	t.Parallel()
	a, b := backend(t, "a", true), backend(t, "b", true)
	unready := backend(t, "unready", false)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	stopped := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	lb, err := balancer.New([]string{a.URL, stopped, b.URL, unready.URL}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	lb.CheckInterval = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = lb.Run(ctx) }()
	front := httptest.NewServer(lb)
	defer front.Close()
	// Before its first checks the balancer knows no replica's readiness
	// and tries them all in turn; wait for them.
	require.Eventually(t, func() bool {
		ready := 0
		for _, be := range lb.Backends() {
			if be.Ready() {
				ready++
			}
		}
		return ready == 2
	}, 10*time.Second, 5*time.Millisecond)

	seen := map[string]int{}
	for i := range 40 {
		code, body := post(t, front.URL+"/graphql", "q")
		require.Equal(t, http.StatusOK, code, "request %d: %s", i, body)
		seen[body]++
	}
	require.Positive(t, seen["a:q"])
	require.Positive(t, seen["b:q"])
	require.Zero(t, seen["unready:q"]+0, "%v", seen)
	require.Len(t, seen, 2, "%v", seen)
}

// A replica that stops while requests flow loses none of them: until its
// readiness check fails, a request that cannot reach it goes to another.
func TestBalancerRetriesARequestThatNeverArrived(t *testing.T) {
	t.Parallel()
	a, b := backend(t, "a", true), backend(t, "b", true)
	lb, err := balancer.New([]string{a.URL, b.URL}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	lb.CheckInterval = time.Hour // only the first check: both look ready
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = lb.Run(ctx) }()
	require.Eventually(t, func() bool { return lb.Backends()[0].Ready() && lb.Backends()[1].Ready() }, 5*time.Second, 10*time.Millisecond)
	front := httptest.NewServer(lb)
	defer front.Close()

	a.Close()
	for i := range 10 {
		code, body := post(t, front.URL+"/graphql", "q")
		require.Equal(t, http.StatusOK, code, "request %d: %s", i, body)
		require.Equal(t, "b:q", body)
	}
}
