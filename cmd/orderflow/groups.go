package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/IBM/sarama"

	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/internal/kafka"
)

// groupsCommand prints the members of the namespace's consumer groups
// and how many partitions each holds: which process consumes what.
func groupsCommand() command {
	return command{
		name:  "groups",
		usage: "list the consumer groups of the namespace: members (client id ends in the pid) and partitions held",
		run: func(ctx context.Context, cfg config.Config, _ *slog.Logger, _ []string) error {
			admin, err := sarama.NewClusterAdmin(cfg.KafkaBrokers, kafka.SaramaConfig("orderflow-groups"))
			if err != nil {
				return fmt.Errorf("kafka at %v: %w", cfg.KafkaBrokers, err)
			}
			defer admin.Close()
			all, err := admin.ListConsumerGroups()
			if err != nil {
				return fmt.Errorf("list consumer groups: %w", err)
			}
			prefix := cfg.ConsumerGroup("")
			var names []string
			for g := range all {
				if strings.HasPrefix(g, prefix) {
					names = append(names, g)
				}
			}
			sort.Strings(names)
			groups, err := admin.DescribeConsumerGroups(names)
			if err != nil {
				return fmt.Errorf("describe consumer groups: %w", err)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "GROUP\tSTATE\tMEMBER\tPARTITIONS")
			for _, g := range groups {
				if len(g.Members) == 0 {
					fmt.Fprintf(w, "%s\t%s\t-\t0\n", g.GroupId, g.State)
				}
				for _, m := range g.Members {
					n := 0
					if a, err := m.GetMemberAssignment(); err == nil && a != nil {
						for _, ps := range a.Topics {
							n += len(ps)
						}
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\n", g.GroupId, g.State, m.ClientId, n)
				}
			}
			return w.Flush()
		},
	}
}
