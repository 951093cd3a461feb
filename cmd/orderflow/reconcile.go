package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/reconcile"
)

// reconcileCommand compares the services' data, heals what is safe and
// prints the report; it exits non-zero when something needs a person.
func reconcileCommand() command {
	rc := reconcile.DefaultConfig()
	var asJSON, last bool
	return command{
		name:  "reconcile",
		usage: "find and heal divergences between the event stores, read models, sagas and outboxes",
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print the report as JSON instead of a table")
			fs.BoolVar(&rc.DryRun, "dry-run", false, "only report: heal nothing")
			fs.BoolVar(&last, "last", false, "print the last report (of any process) instead of running")
			fs.DurationVar(&rc.Grace, "grace", rc.Grace, "how old a difference must be to count; younger ones are in flight")
			fs.IntVar(&rc.PageSize, "page-size", rc.PageSize, "streams compared at once")
			fs.IntVar(&rc.MaxFindings, "max-findings", rc.MaxFindings, "findings listed per kind (all are counted)")
		},
		run: func(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("reconcile takes no arguments, got %q", args)
			}
			svc, err := service.Open(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer svc.Close()
			sh, err := openShared(svc, needs{projector: true, saga: true})
			if err != nil {
				return err
			}
			rec, err := svc.Reconciler(rc, sh.projector, sh.saga)
			if err != nil {
				return err
			}
			var report reconcile.Report
			if last {
				r, err := rec.Reports().Last(ctx)
				if err != nil {
					return err
				}
				if r == nil {
					return errors.New("no reconciliation has run yet")
				}
				report = *r
			} else {
				if err := sh.projector.EnsureIndexes(ctx); err != nil {
					return err
				}
				if report, err = rec.Run(ctx); err != nil {
					return err
				}
			}
			if err := printReport(os.Stdout, report, asJSON); err != nil {
				return err
			}
			if report.NeedsPerson > 0 {
				return fmt.Errorf("%d divergences need a person", report.NeedsPerson)
			}
			return nil
		},
	}
}

func printReport(w io.Writer, r reconcile.Report, asJSON bool) error {
	if !asJSON {
		return r.WriteTable(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
