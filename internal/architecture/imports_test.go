package architecture_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/orderflow/orderflow/"

// Layers of the code, by package path below the module (a trailing "/"
// takes the folder's sub-packages too).
var (
	// domain is the language of the business: aggregates, their bounds,
	// money, error codes and the messages they exchange. It knows nothing
	// of databases, brokers, HTTP or the code around it.
	domain = []string{"command/domain/", "messages", "internal/money", "internal/errcode"}
	// ports are how clients reach the application: they call the
	// application seam (app) and read its answers, nothing underneath.
	ports = []string{"graph", "graph/", "rest", "console"}
	// wiring builds everything (cmd/orderflow/service, beside the
	// binary); only the binary and the tests that run the whole system
	// in-process may use it.
	wiring = []string{"cmd/"}
	// writeSide is what records and moves state: event store, command
	// handlers, the bus, the outbox relay and the saga.
	writeSide = []string{"command/", "sagas"}
	// infrastructure clients.
	clients = []string{"github.com/jackc/", "github.com/IBM/sarama", "github.com/ThreeDotsLabs/", "github.com/elastic/", "database/sql"}
	// adapters speak to one server each.
	adapters = []string{"internal/postgres", "internal/kafka", "internal/elastic", "internal/consumer", "internal/deadletter", "internal/breaker", "command/eventstore", "command/outbox", "command/bus", "command/handlers", "projections", "sagas"}
	// above the adapters: the application, its ports and the wiring.
	aboveAdapters = []string{"app", "graph", "graph/", "rest", "console", "cmd/"}
	// testSupport may reach anything: it builds whole systems for tests.
	testSupport = []string{"internal/testenv", "internal/systemtest"}
)

// rule forbids the packages in from (but not in except, nor test
// support) importing anything in to: orderflow paths as above, full import
// path prefixes, or "*".
type rule struct {
	name             string
	from, except, to []string
	// linked checks every package linked in (go list's Deps), not only the
	// direct imports: a client reached through another package counts.
	linked bool
}

var rules = []rule{
	{name: "the domain imports only the domain and the standard library", from: domain, to: []string{"*"}},
	{name: "ports call the application seam, not the write side", from: ports, to: writeSide},
	{name: "ports use no infrastructure client", from: ports, to: clients},
	{name: "the read side (query) imports nothing of the write side", from: []string{"query"}, to: writeSide},
	{name: "the read side (query) reads Elasticsearch only", from: []string{"query"}, to: []string{"github.com/jackc/", "github.com/IBM/sarama", "github.com/ThreeDotsLabs/", "database/sql"}},
	{name: "the application sends no Kafka message itself", from: []string{"app"}, to: []string{"github.com/IBM/sarama", "github.com/ThreeDotsLabs/", "github.com/elastic/", "internal/kafka", "command/bus", "command/outbox"}},
	{name: "adapters do not reach up into the application, its ports or the wiring", from: adapters, to: aboveAdapters},
	{name: "only the binary and test support use the wiring", from: []string{"*"}, except: wiring, to: wiring},
	{name: "the application reaches no database or event store itself: the command side owns transactions and records", from: []string{"app"}, to: append([]string{"command/eventstore"}, clients...)},
	{name: "the read side (query) reads the read models' documents (projections/documents), not the projector", from: []string{"query"}, to: []string{"projections"}},
	{name: "the read side (query) links no Kafka or PostgreSQL client, not even through another package", from: []string{"query"}, to: []string{"github.com/jackc/", "github.com/IBM/sarama", "github.com/ThreeDotsLabs/", "database/sql"}, linked: true},
	{name: "the read models' documents link only the domain and the standard library", from: []string{"projections/documents"}, to: []string{"*"}, linked: true},
}

type pkg struct {
	ImportPath string
	Imports    []string
	// Deps is every package linked in, direct imports and theirs.
	Deps []string
}

// matches reports whether an import path (full) is in one of the listed
// orderflow paths or full prefixes.
func matches(path string, list []string) bool {
	for _, p := range list {
		switch {
		case p == "*":
			return true
		case strings.Contains(p, "."), p == "database/sql":
			if strings.HasPrefix(path, p) {
				return true
			}
		case strings.HasSuffix(p, "/"):
			if strings.HasPrefix(path, module+p) {
				return true
			}
		default:
			if path == module+p {
				return true
			}
		}
	}
	return false
}

func packages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"...").Output()
	require.NoError(t, err, "go list")
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	require.Greater(t, len(pkgs), 30, "go list found the module's packages")
	return pkgs
}

// TestImportsPointOneWay checks every package's (non-test) imports against
// the rules.
func TestImportsPointOneWay(t *testing.T) {
	t.Parallel()
	pkgs := packages(t)
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			require.Empty(t, violations(r, pkgs), "%s", r.name)
		})
	}
}

// violations lists what breaks r among pkgs, one "<package> imports
// <path>" (or "links") each.
func violations(r rule, pkgs []pkg) []string {
	var broken []string
	for _, p := range pkgs {
		if !matches(p.ImportPath, r.from) || matches(p.ImportPath, r.except) || matches(p.ImportPath, testSupport) {
			continue
		}
		imports, verb := p.Imports, " imports "
		if r.linked {
			imports, verb = p.Deps, " links "
		}
		for _, imp := range imports {
			if !isForbidden(r, imp) {
				continue
			}
			broken = append(broken, strings.TrimPrefix(p.ImportPath, module)+verb+strings.TrimPrefix(imp, module))
		}
	}
	return broken
}

func isForbidden(r rule, imp string) bool {
	if slices.Contains(r.to, "*") {
		// Everything outside the domain and the standard library.
		return !isStd(imp) && !matches(imp, domain)
	}
	return matches(imp, r.to)
}

// isStd: a standard library path has no dot in its first element.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// The rules must be able to fail: each catches a made-up import that
// breaks it.
func TestRulesCatchWhatTheyForbid(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		rules[0].name:  "github.com/jackc/pgx/v5",
		rules[1].name:  module + "command/eventstore",
		rules[2].name:  "github.com/IBM/sarama",
		rules[3].name:  module + "command/domain/ordering",
		rules[4].name:  "github.com/jackc/pgx/v5/pgxpool",
		rules[5].name:  module + "command/bus",
		rules[6].name:  module + "app",
		rules[7].name:  module + "cmd/orderflow/service",
		rules[8].name:  "github.com/jackc/pgx/v5",
		rules[9].name:  module + "projections",
		rules[10].name: "github.com/IBM/sarama",
		rules[11].name: "github.com/elastic/go-elasticsearch/v8",
	}
	for _, r := range rules {
		imp, ok := cases[r.name]
		require.True(t, ok, "a case for %q", r.name)
		require.True(t, isForbidden(r, imp), "%q forbids %s", r.name, imp)
	}
	require.False(t, isForbidden(rules[0], module+"internal/money"), "the domain may use the domain")
	require.False(t, isForbidden(rules[0], "strings"), "and the standard library")
	require.True(t, isForbidden(rules[8], module+"command/eventstore"), "the application reads no event store itself")
	require.False(t, isForbidden(rules[8], module+"command/handlers"), "but calls the command handlers in-process (by design)")
	require.False(t, isForbidden(rules[9], module+"projections/documents"), "the read side reads the documents")
	require.False(t, isForbidden(rules[11], module+"command/domain/ordering"), "which fold with the aggregate's own progress")

	// A linked rule sees a client that only an imported package imports
	// (here the old query -> projections -> sarama); an import rule would not.
	query := pkg{
		ImportPath: module + "query",
		Imports:    []string{"context", module + "projections"},
		Deps:       []string{"context", module + "projections", "github.com/IBM/sarama"},
	}
	require.Equal(t, []string{"query links github.com/IBM/sarama"}, violations(rules[10], []pkg{query}))
	require.Empty(t, violations(rules[4], []pkg{query}), "the direct-import rule does not see it")
	require.Equal(t, []string{"query imports projections"}, violations(rules[9], []pkg{query}))
}
