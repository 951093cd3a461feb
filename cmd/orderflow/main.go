// Command orderflow is the one binary of the platform. Each subcommand is a
// role (api, worker, relay, projector, or all of them in one process) or a
// job (migrate, rebuild, reconcile, order, token, bench).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/tracing"
)

// command is one subcommand: its flags are registered on fs, then run is
// called with the parsed configuration and remaining arguments.
type command struct {
	name  string
	usage string
	flags func(fs *flag.FlagSet)
	run   func(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error
	// tokens is set for the commands that verify or issue bearer tokens:
	// only they need the JWT secret.
	tokens bool
}

func commands() []command {
	return []command{
		{name: "all", usage: "run every role in one process (api, worker, relay, projector)", run: runRoles(roleAPI, roleWorker, roleRelay, roleProjector), tokens: true},
		{name: "api", usage: "serve GraphQL, REST and the operator console", run: runRoles(roleAPI), tokens: true},
		{name: "worker", usage: "handle commands and drive sagas", run: runRoles(roleWorker)},
		{name: "relay", usage: "publish committed events to Kafka", run: runRoles(roleRelay)},
		{name: "projector", usage: "project events into Elasticsearch", run: runRoles(roleProjector)},
		{name: "migrate", usage: "apply database migrations and exit", run: runMigrate},
		rebuildCommand(),
		reconcileCommand(),
		orderCommand(),
		deadLettersCommand(),
		redriveCommand(),
		tokenCommand(),
		benchCommand(),
		probeCommand(),
		lbCommand(),
		groupsCommand(),
		drillCommand(),
	}
}

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		return 0
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "orderflow: unknown command %q\n\n", args[0])
		printUsage(stderr)
		return 2
	}

	cfg := config.Default()
	fs := flag.NewFlagSet("orderflow "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	envErr := errors.Join(cfg.RegisterFlags(fs, config.OSEnv), config.UnknownVariables(os.Environ(), fs))
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// A malformed variable is refused even when a flag overrides it: it
	// is still a mistake in the deployment.
	validate := cfg.ValidateWithoutTokens
	if cmd.tokens {
		validate = cfg.Validate
	}
	if err := errors.Join(envErr, validate()); err != nil {
		fmt.Fprintf(stderr, "orderflow %s: invalid configuration:\n%v\n", cmd.name, err)
		return 2
	}
	logger := newLogger(stderr, cfg.LogLevel)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shutdownTracing, err := tracing.Setup(ctx, cfg.OTelEndpoint, "orderflow-"+cmd.name)
	if err != nil {
		fmt.Fprintf(stderr, "orderflow %s: invalid configuration:\n%v\n", cmd.name, err)
		return 2
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTracing(flush); err != nil {
			logger.Warn("traces not flushed", "error", err)
		}
	}()
	if err := cmd.run(ctx, cfg, logger, fs.Args()); err != nil {
		logger.Error("command failed", "command", cmd.name, "error", err)
		return 1
	}
	return 0
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: orderflow <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.usage)
	}
	fmt.Fprintln(w, "\nRun 'orderflow <command> -h' for the flags of a command; every flag also reads an ORDERFLOW_* variable.")
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
