package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// binary is the real orderflow binary, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "orderflow-main-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "orderflow")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// start runs the binary with exactly env (nothing inherited), and returns
// its exit code and stderr. A configuration the binary wrongly accepts
// would start the role, against a database that is not there, and fail
// some other way or run until the deadline: either way not exit code 2.
func start(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{
		"ORDERFLOW_HTTP_ADDR=127.0.0.1:0",
		"ORDERFLOW_POSTGRES_URL=postgres://127.0.0.1:1/nowhere?connect_timeout=1",
	}, env...)
	var stderr, stdout bytes.Buffer
	cmd.Stderr, cmd.Stdout = &stderr, &stdout
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// Every role refuses a malformed setting at start, naming the variable and
// its value, instead of running on the default.
func TestRolesRefuseMalformedConfiguration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"not an integer", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_MAX_PENDING_COMMANDS=lots"}, nil,
			[]string{`ORDERFLOW_MAX_PENDING_COMMANDS "lots": not an integer`}},
		{"duration without unit", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_SHUTDOWN_TIMEOUT=15"}, nil,
			[]string{`ORDERFLOW_SHUTDOWN_TIMEOUT "15": not a duration`}},
		{"bad boolean", []string{"ORDERFLOW_DEV=yes"}, nil,
			[]string{`ORDERFLOW_DEV "yes": not a boolean`}},
		{"rate above one", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_PAYMENT_FAULT_RATE=2"}, nil,
			[]string{`ORDERFLOW_PAYMENT_FAULT_RATE (--payment-fault-rate) "2": must be between 0 and 1`}},
		{"several at once", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_LOG_LEVEL=loud", "ORDERFLOW_KAFKA_BROKERS=", "ORDERFLOW_ELASTICSEARCH_URL=es:9200"}, nil,
			[]string{"ORDERFLOW_LOG_LEVEL", "ORDERFLOW_KAFKA_BROKERS", "ORDERFLOW_ELASTICSEARCH_URL"}},
		{"no secret outside development mode", nil, nil,
			[]string{"ORDERFLOW_JWT_SECRET (--jwt-secret) is not set", "ORDERFLOW_DEV=true"}},
		{"retry levels not durations", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_RETRY_LEVELS=5s,soon"}, nil,
			[]string{`ORDERFLOW_RETRY_LEVELS "5s,soon": not a list of durations`}},
		{"retry level not positive", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_RETRY_LEVELS=5s,0s"}, nil,
			[]string{`ORDERFLOW_RETRY_LEVELS (--retry-levels) "5s,0s": must be one or more positive durations`}},
		{"retention shorter than redeliveries", []string{"ORDERFLOW_DEV=true", "ORDERFLOW_RETENTION=1m"}, nil,
			[]string{`ORDERFLOW_RETENTION (--retention) "1m0s": must be at least 1h`}},
		{"malformed flag", []string{"ORDERFLOW_DEV=true"}, []string{"--max-pending-commands", "lots"},
			[]string{`invalid value "lots" for flag -max-pending-commands`}},
	}
	for _, role := range []string{"all", "api", "worker", "relay", "projector", "migrate", "rebuild", "reconcile", "deadletters", "redrive", "token", "bench"} {
		for _, tc := range cases {
			if tc.name == "no secret outside development mode" && !verifiesTokens[role] {
				continue // TestOnlyTokenCommandsNeedTheSecret
			}
			t.Run(role+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				code, stderr := start(t, tc.env, append([]string{role}, tc.args...)...)
				require.Equal(t, 2, code, "stderr:\n%s", stderr)
				for _, w := range tc.want {
					require.Contains(t, stderr, w)
				}
				require.NotContains(t, stderr, "panic")
				require.NotContains(t, stderr, "goroutine ")
			})
		}
	}
}

// verifiesTokens are the commands that verify or issue bearer tokens.
var verifiesTokens = map[string]bool{"all": true, "api": true, "token": true, "bench": true, "drill": true}

// Only the commands that verify or issue tokens need the JWT secret: the
// others (worker, relay, projector, the operator's tools) start without
// one and fail only at the unreachable database.
func TestOnlyTokenCommandsNeedTheSecret(t *testing.T) {
	t.Parallel()
	for _, role := range []string{"all", "api", "token", "bench", "drill", "worker", "relay", "projector", "migrate", "rebuild", "reconcile", "deadletters", "redrive"} {
		t.Run(role, func(t *testing.T) {
			t.Parallel()
			code, stderr := start(t, nil, role)
			if verifiesTokens[role] {
				require.Equal(t, 2, code, "stderr:\n%s", stderr)
				require.Contains(t, stderr, "ORDERFLOW_JWT_SECRET (--jwt-secret) is not set")
				return
			}
			require.NotContains(t, stderr, "invalid configuration")
			require.NotContains(t, stderr, "JWT_SECRET")
			require.NotEqual(t, 0, code, "stderr:\n%s", stderr)
		})
	}
}

// The same configuration with good values gets past the checks: the role
// starts and fails only at the unreachable database.
func TestRoleStartsWithValidConfiguration(t *testing.T) {
	t.Parallel()
	code, stderr := start(t, []string{"ORDERFLOW_JWT_SECRET=s3cret", "ORDERFLOW_MAX_PENDING_COMMANDS=64", "ORDERFLOW_SHUTDOWN_TIMEOUT=15s"}, "migrate")
	require.Equal(t, 1, code, "stderr:\n%s", stderr)
	require.NotContains(t, stderr, "invalid configuration")
}
