package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/config"
)

// tokenCommand prints a signed development token, e.g. for curl or GraphiQL.
func tokenCommand() command {
	var sub, role string
	var ttl time.Duration
	return command{
		name:   "token",
		tokens: true,
		usage:  "print a bearer token: token --sub ID --role customer|admin",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&sub, "sub", "", "subject: the customer id (or an operator name for admins)")
			fs.StringVar(&role, "role", string(auth.RoleCustomer), "customer or admin")
			fs.DurationVar(&ttl, "ttl", 24*time.Hour, "validity")
		},
		run: func(_ context.Context, cfg config.Config, _ *slog.Logger, _ []string) error {
			if sub == "" {
				return errors.New("--sub is required")
			}
			tok, err := auth.Issue([]byte(cfg.JWTSecret), sub, ttl, auth.Role(role))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(os.Stdout, tok)
			return err
		},
	}
}
