package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/orderflow/orderflow/internal/balancer"
	"github.com/orderflow/orderflow/internal/config"
)

// lbCommand is the local load balancer in front of the api replicas of
// deploy/local/cluster (production has its own: a Kubernetes Service, an
// ingress).
func lbCommand() command {
	listen := "127.0.0.1:8080"
	backends := "http://127.0.0.1:8181,http://127.0.0.1:8182"
	return command{
		name:  "lb",
		usage: "local load balancer: proxy --listen to the ready api replicas in --backends",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&listen, "listen", listen, "address to serve on")
			fs.StringVar(&backends, "backends", backends, "comma-separated base URLs of the api replicas")
		},
		run: func(ctx context.Context, cfg config.Config, logger *slog.Logger, _ []string) error {
			lb, err := balancer.New(strings.Split(backends, ","), logger)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: lb, ReadHeaderTimeout: 10 * time.Second}
			logger.Info("load balancer listening", "addr", ln.Addr().String(), "backends", backends)
			g, ctx := errgroup.WithContext(ctx)
			g.Go(func() error { return lb.Run(ctx) })
			g.Go(func() error {
				if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
					return err
				}
				return nil
			})
			g.Go(func() error {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
				defer cancel()
				return srv.Shutdown(shutdown)
			})
			return g.Wait()
		},
	}
}
