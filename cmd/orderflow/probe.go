package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/internal/config"
)

// probeCommand asks this machine's orderflow process (at --http-addr) for
// its readiness: a container health check for images without curl.
func probeCommand() command {
	path := "/readyz"
	return command{
		name:  "probe",
		usage: "exit 0 if the local process at --http-addr answers /readyz (or --path) with 200",
		flags: func(fs *flag.FlagSet) { fs.StringVar(&path, "path", path, "path to ask, e.g. /healthz") },
		run: func(ctx context.Context, cfg config.Config, _ *slog.Logger, _ []string) error {
			host, port, err := net.SplitHostPort(cfg.HTTPAddr)
			if err != nil {
				return fmt.Errorf("http address %q: %w", cfg.HTTPAddr, err)
			}
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+path, nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("probe %s: %w", path, err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("probe %s: %s", path, resp.Status)
			}
			return nil
		},
	}
}
