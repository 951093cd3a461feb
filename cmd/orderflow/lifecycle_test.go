package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// readyz returns the status and body of the process's /readyz (0 if it
// does not answer).
func readyz(addr string) (int, string) {
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A role started while PostgreSQL is down waits for it, alive and not
// ready, instead of exiting; it becomes ready once the database is back.
// SIGTERM then drains it (not ready, still answering) and it exits 0.
func TestRoleWaitsForServersAndDrainsOnSIGTERM(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	u, err := url.Parse(env.Config.PostgresURL)
	require.NoError(t, err)
	pg := testenv.NewProxy(t, u.Host)
	pg.Cut()
	u.Host = pg.Addr()
	addr := freeAddr(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "relay")
	cmd.Env = []string{
		"ORDERFLOW_HTTP_ADDR=" + addr,
		"ORDERFLOW_POSTGRES_URL=" + u.String(),
		"ORDERFLOW_KAFKA_BROKERS=" + strings.Join(env.Config.KafkaBrokers, ","),
		"ORDERFLOW_ELASTICSEARCH_URL=" + env.Config.ElasticsearchURL,
		"ORDERFLOW_NAMESPACE=" + env.Config.Namespace,
		"ORDERFLOW_JWT_SECRET=s3cret",
		"ORDERFLOW_DRAIN_DELAY=2s",
		"ORDERFLOW_SHUTDOWN_TIMEOUT=10s",
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	require.Eventually(t, func() bool {
		code, body := readyz(addr)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "starting")
	}, 30*time.Second, 100*time.Millisecond, "not answering while waiting: %s", &stderr)
	time.Sleep(3 * time.Second)
	select {
	case err := <-exited:
		t.Fatalf("exited while PostgreSQL was down: %v\n%s", err, &stderr)
	default:
	}
	code, body := readyz(addr)
	require.Equal(t, http.StatusServiceUnavailable, code, body)

	pg.Restore()
	require.Eventually(t, func() bool { code, _ := readyz(addr); return code == http.StatusOK }, time.Minute, 100*time.Millisecond, "%s", &stderr)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool {
		code, body := readyz(addr)
		return code == http.StatusServiceUnavailable && strings.Contains(body, "draining")
	}, 2*time.Second, 50*time.Millisecond, "still ready while draining")
	select {
	case err := <-exited:
		require.NoError(t, err, "%s", &stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("did not stop after SIGTERM:\n%s", &stderr)
	}
}
