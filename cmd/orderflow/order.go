package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/timeline"
)

// orderCommand prints one order's story across the contexts, for a person
// following it: every event with its correlation and causation, the
// commands handled and refused, the saga's phases, attempts, deadlines
// and failure, in time order.
func orderCommand() command {
	var asJSON bool
	return command{
		name:  "order",
		usage: "print an order's timeline across every context: orderflow order [--json] <id>",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print the timeline as JSON instead of a table")
		},
		run: func(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return fmt.Errorf("order takes one order id, got %q", args)
			}
			svc, err := service.Open(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer svc.Close()
			t, found, err := timeline.NewReader(svc.Pools).Order(ctx, args[0])
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("order %s not found in any context", args[0])
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(t)
			}
			return t.WriteText(os.Stdout)
		},
	}
}
