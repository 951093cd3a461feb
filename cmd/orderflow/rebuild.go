package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/projections"
)

// rebuildCommand replays the event store into a fresh index of a
// projection and swaps its alias, or manages the projection's indexes.
func rebuildCommand() command {
	var (
		order, drop                 string
		restart, cancel, list, info bool
	)
	return command{
		name:  "rebuild",
		usage: "rebuild a projection from the event store: rebuild [flags] orders|products|customers",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&order, "order", "", "re-project only this aggregate (an order, product or customer id) and release it if it was held")
			fs.BoolVar(&restart, "restart", false, "abandon an unfinished rebuild and start afresh instead of resuming it")
			fs.BoolVar(&cancel, "cancel", false, "cancel an unfinished rebuild (its index stays until dropped)")
			fs.BoolVar(&list, "list", false, "list the projection's indexes")
			fs.StringVar(&drop, "drop", "", "delete an index that is no longer live")
			fs.BoolVar(&info, "status", false, "show the projection's status and lag")
		},
		run: func(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error {
			if len(args) != 1 {
				return errors.New("name one projection: orders, products or customers")
			}
			name, err := projections.ParseName(args[0])
			if err != nil {
				return err
			}
			svc, err := service.Open(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer svc.Close()
			p, err := svc.NewProjector()
			if err != nil {
				return err
			}
			if err := p.EnsureIndexes(ctx); err != nil {
				return err
			}
			switch {
			case order != "":
				if err := p.Reproject(ctx, name, order); err != nil {
					return err
				}
				fmt.Printf("re-projected %s %s\n", name, order)
			case cancel:
				return p.CancelRebuild(ctx, name)
			case drop != "":
				if err := p.DropIndex(ctx, name, drop); err != nil {
					return err
				}
				fmt.Printf("dropped %s\n", drop)
			case list:
				indexes, err := p.Indexes(ctx, name)
				if err != nil {
					return err
				}
				for _, ix := range indexes {
					live := ""
					if ix.Live {
						live = "  (live)"
					}
					fmt.Printf("%s%s\n", ix.Name, live)
				}
			case info:
				statuses, err := p.Status(ctx)
				if err != nil {
					return err
				}
				for _, st := range statuses {
					fmt.Printf("%+v\n", st)
				}
			default:
				res, err := p.Rebuild(ctx, name, projections.RebuildOptions{Progress: projections.ProgressPrinter(os.Stderr), Restart: restart})
				if err != nil {
					return err
				}
				fmt.Printf("rebuilt %s: %d events into %s at %.0f events/s in %s; previous index %s kept (drop it with --drop)\n",
					res.Projection, res.Events, res.Index, res.Rate, res.Duration.Round(1e6), res.Previous)
				for _, id := range res.Refused {
					fmt.Printf("refused by elasticsearch (see the log), re-project it once fixed: %s\n", id)
				}
			}
			return nil
		},
	}
}
