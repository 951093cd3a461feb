package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/server"
)

func get(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Stopping, the server first fails /readyz while it still serves, then
// ends the long-lived (websocket) requests so their handlers close them,
// and lets a plain request in flight finish.
func TestServerDrainsBeforeStopping(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	srv := server.New(addr, nil, slog.New(slog.DiscardHandler))
	srv.DrainDelay = 500 * time.Millisecond
	srv.SetStarting("waiting for the database")

	streamEnded := make(chan struct{})
	srv.Handle("GET /stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // a subscription: until the client or the server ends it
		close(streamEnded)
	}))
	slowStarted := make(chan struct{})
	srv.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(slowStarted)
		time.Sleep(time.Second)
		_, _ = io.WriteString(w, "done")
	}))

	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx, 10*time.Second) }()
	base := "http://" + addr
	require.Eventually(t, func() bool { code, _ := get(t, base+"/healthz", nil); return code == http.StatusOK }, 10*time.Second, 20*time.Millisecond)
	code, body := get(t, base+"/readyz", nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "waiting for the database")
	srv.SetStarting("")
	code, _ = get(t, base+"/readyz", nil)
	require.Equal(t, http.StatusOK, code)

	go func() {
		_, _ = get(t, base+"/stream", http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}})
	}()
	slow := make(chan string, 1)
	go func() { _, b := get(t, base+"/slow", nil); slow <- b }()
	<-slowStarted
	stop()

	require.Eventually(t, func() bool {
		code, body := get(t, base+"/readyz", nil)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "draining")
	}, 400*time.Millisecond, 20*time.Millisecond, "not ready, still serving, while draining")
	select {
	case <-streamEnded:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream was not ended when the server drained")
	}
	require.Equal(t, "done", <-slow, "the request in flight finished")
	require.NoError(t, <-ran)
}
