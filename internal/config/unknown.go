package config

import (
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
)

// ToolVariables are the ORDERFLOW_* variables of the project's scripts and
// tests (deploy/local/deps, deploy/local/cluster, internal/testenv), not of
// the binary: a shell that exports them for a script may run orderflow too.
var ToolVariables = []string{
	"ORDERFLOW_BIN",
	"ORDERFLOW_CLUSTER_BASE_PORT",
	"ORDERFLOW_CLUSTER_DIR",
	"ORDERFLOW_ES_JIT",
	"ORDERFLOW_ES_PORT",
	"ORDERFLOW_ES_TRANSPORT_PORT",
	"ORDERFLOW_KAFKA_CONTROLLER_PORT",
	"ORDERFLOW_KAFKA_PORT",
	"ORDERFLOW_LB_PORT",
	"ORDERFLOW_PG_PORT",
	"ORDERFLOW_PROMETHEUS_PORT",
	"ORDERFLOW_PROMETHEUS_STATE",
	"ORDERFLOW_PROMETHEUS_URL",
	"ORDERFLOW_STATE_DIR",
}

// UnknownVariables refuses every ORDERFLOW_* variable of environ (KEY=VALUE
// entries, as os.Environ returns them) that is neither the variable of a
// flag in fs nor one of ToolVariables, naming the closest known variable:
// a misspelt setting (ORDERFLOW_KAFKA_BROKER) would otherwise leave its
// default in force without a word.
func UnknownVariables(environ []string, fs *flag.FlagSet) error {
	known := slices.Clone(ToolVariables)
	fs.VisitAll(func(f *flag.Flag) { known = append(known, envName(f.Name)) })
	var errs []error
	for _, kv := range environ {
		key, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(key, "ORDERFLOW_") || slices.Contains(known, key) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: not a variable of orderflow (did you mean %s? every variable is listed by orderflow <command> -h)", key, closest(key, known)))
	}
	return errors.Join(errs...)
}

// closest is the name in names nearest to s by edit distance.
func closest(s string, names []string) string {
	best, bestDist := "", -1
	for _, n := range names {
		if d := editDistance(s, n); bestDist < 0 || d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
