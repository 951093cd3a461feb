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
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/cmd/orderflow/service"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/deadletter"
)

const deadLettersUsage = `usage: orderflow deadletters <list|show|replay|discard> [flags] [ids]
  list     [--handler H] [--aggregate ID] [--status parked|dead|replayed|discarded]
           [--class transient|permanent|waiting] [--type T] [--from RFC3339] [--to RFC3339]
           [--first N] [--after ID] [--json]
  show     <id> [--json]
  replay   <id>... | --aggregate ID       (try again now, in order per aggregate)
  discard  <id> --reason TEXT             (give up for good; what waits behind follows)
every subcommand takes --actor NAME (default: the OS user) for the audit trail`

// deadLettersCommand is the operator's view of the dead-letter store, the
// same operations as the GraphQL admin API, through the application seam.
func deadLettersCommand() command {
	return command{
		name:  "deadletters",
		usage: "list, show, replay or discard dead letters (orderflow deadletters -h)",
		run: func(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error {
			if len(args) == 0 {
				return errors.New(deadLettersUsage)
			}
			return runDeadLetters(ctx, cfg, logger, args[0], args[1:], os.Stdout)
		},
	}
}

func runDeadLetters(ctx context.Context, cfg config.Config, logger *slog.Logger, sub string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("orderflow deadletters "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f deadletter.Filter
	var status, class, from, to, reason, actorName string
	var first int
	var after int64
	var asJSON bool
	fs.StringVar(&f.Handler, "handler", "", "")
	fs.StringVar(&f.AggregateID, "aggregate", "", "")
	fs.StringVar(&status, "status", "", "")
	fs.StringVar(&class, "class", "", "")
	fs.StringVar(&f.Type, "type", "", "")
	fs.StringVar(&from, "from", "", "")
	fs.StringVar(&to, "to", "", "")
	fs.IntVar(&first, "first", 50, "")
	fs.Int64Var(&after, "after", 0, "")
	fs.BoolVar(&asJSON, "json", false, "")
	fs.StringVar(&reason, "reason", "", "")
	fs.StringVar(&actorName, "actor", defaultActor(), "")
	if err := fs.Parse(interleaved(args)); err != nil {
		return fmt.Errorf("%w\n%s", err, deadLettersUsage)
	}
	f.Status, f.Class = deadletter.Status(status), deadletter.Class(class)
	for _, t := range []struct {
		s   string
		dst *time.Time
	}{{from, &f.From}, {to, &f.To}} {
		if t.s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.s)
		if err != nil {
			return fmt.Errorf("--from/--to %q: want RFC 3339, e.g. 2026-11-30T12:00:00Z", t.s)
		}
		*t.dst = v
	}
	ids := make([]int64, 0, fs.NArg())
	for _, a := range fs.Args() {
		id, err := strconv.ParseInt(a, 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("%q is not a dead letter id", a)
		}
		ids = append(ids, id)
	}
	svc, err := service.Open(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer svc.Close()
	application, err := openApplication(svc)
	if err != nil {
		return err
	}
	actor := auth.Principal{Subject: actorName, Roles: []auth.Role{auth.RoleAdmin}}

	switch sub {
	case "list":
		page, err := application.Queries.DeadLetters.Handle(ctx, actor, f, first, after)
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(out, page)
		}
		printDeadLetters(out, page.Entries)
		fmt.Fprintf(out, "\n%d in all", page.Total)
		for _, c := range page.Counts {
			fmt.Fprintf(out, "; %s %s: %d", c.Handler, c.Class, c.Count)
		}
		fmt.Fprintln(out)
		if page.HasNext {
			fmt.Fprintf(out, "more: --after %d\n", page.Entries[len(page.Entries)-1].ID)
		}
		return nil
	case "show":
		if len(ids) != 1 {
			return errors.New("show takes one dead letter id")
		}
		e, err := application.Queries.DeadLetter.Handle(ctx, actor, ids[0])
		if err != nil {
			return err
		}
		if asJSON {
			return writeJSON(out, e)
		}
		printDeadLetter(out, *e)
		return nil
	case "replay":
		entries, err := application.Commands.ReplayDeadLetters.Handle(ctx, actor, ids, f.AggregateID)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d dead letters will be tried again now, in order per aggregate:\n", len(entries))
		printDeadLetters(out, entries)
		return nil
	case "discard":
		if len(ids) != 1 {
			return errors.New("discard takes one dead letter id and --reason")
		}
		e, err := application.Commands.DiscardDeadLetter.Handle(ctx, actor, ids[0], reason)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "dead letter %d discarded\n", e.ID)
		return nil
	}
	return fmt.Errorf("unknown subcommand %q\n%s", sub, deadLettersUsage)
}

// redriveCommand re-drives an order's stuck or parked saga.
func redriveCommand() command {
	var actorName string
	return command{
		name:  "redrive",
		usage: "re-drive an order's stuck or parked saga: orderflow redrive <order id>",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&actorName, "actor", defaultActor(), "who re-drives it, for the log")
		},
		run: func(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string) error {
			if len(args) != 1 {
				return errors.New("usage: orderflow redrive <order id>")
			}
			svc, err := service.Open(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer svc.Close()
			application, err := openApplication(svc)
			if err != nil {
				return err
			}
			res, err := application.Commands.RedriveOrderSaga.Handle(ctx, auth.Principal{Subject: actorName, Roles: []auth.Role{auth.RoleAdmin}}, args[0])
			if err != nil {
				return err
			}
			printRedrive(os.Stdout, res)
			return nil
		},
	}
}

func printRedrive(w io.Writer, r app.SagaRedrive) {
	now := string(r.Now)
	if r.Outcome != "" {
		now += " (" + string(r.Outcome) + ")"
	}
	fmt.Fprintf(w, "order %s: saga re-driven from phase %s, now %s; %d commands sent under new message ids\n", r.OrderID, r.Phase, now, len(r.Sent))
	for _, c := range r.Sent {
		fmt.Fprintf(w, "  %s  %s\n", c.ID, c.Message.CommandName())
	}
}

func printDeadLetters(w io.Writer, es []deadletter.Entry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tHANDLER\tAGGREGATE\tTYPE\tSTATUS\tCLASS\tATTEMPTS\tFIRST FAILED\tERROR")
	for _, e := range es {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.ID, e.Handler, e.Key, e.Type, e.Status, e.Class, e.Attempts,
			e.FirstFailedAt.UTC().Format(time.RFC3339), oneLine(e.Error, 80))
	}
	_ = tw.Flush()
}

func printDeadLetter(w io.Writer, e deadletter.Entry) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("id", e.ID)
	row("handler", e.Handler)
	row("topic/partition/offset", fmt.Sprintf("%s/%d/%d", e.Topic, e.Partition, e.Offset))
	row("aggregate", e.Key)
	row("message id", e.MessageID)
	row("type", e.Type)
	row("status", e.Status)
	row("error class", e.Class)
	row("error", e.Error)
	row("attempts / level", fmt.Sprintf("%d / %d", e.Attempts, e.Level))
	row("first / last failure", e.FirstFailedAt.UTC().Format(time.RFC3339)+" / "+e.LastFailedAt.UTC().Format(time.RFC3339))
	if e.NextAttemptAt != nil {
		row("next attempt", e.NextAttemptAt.UTC().Format(time.RFC3339))
	}
	row("payload", strings.ToValidUTF8(string(e.Payload), "?"))
	_ = tw.Flush()
	fmt.Fprintln(w, "\naudit trail:")
	for _, a := range e.Actions {
		fmt.Fprintf(w, "  %s  %-16s %s %s\n", a.At.UTC().Format(time.RFC3339), a.Action, a.Actor, a.Reason)
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// interleaved moves flags before positional arguments, so both
// "replay 3 4 --actor x" and "replay --actor x 3 4" parse.
func interleaved(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		if !strings.Contains(a, "=") && a != "--json" && a != "-json" && i+1 < len(args) {
			flags = append(flags, args[i+1])
			i++
		}
	}
	return append(flags, pos...)
}
