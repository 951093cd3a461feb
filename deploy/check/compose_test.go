package check

import (
	"context"
	"slices"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
)

// The compose file loads as `docker compose config` loads it (compose-go
// is the loader Docker Compose uses: schema validation, interpolation,
// normalization, consistency of references), and runs every role of the
// one image against the three servers, migrations first.
func TestComposeFileIsValid(t *testing.T) {
	t.Parallel()
	opts, err := cli.NewProjectOptions([]string{"../compose/compose.yaml"},
		cli.WithName("orderflow"),
		cli.WithEnv([]string{"ORDERFLOW_JWT_SECRET=test-secret"}),
		cli.WithConsistency(true),
		cli.WithNormalization(true),
		cli.WithInterpolation(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("compose file: %v", err)
	}
	names := project.ServiceNames()
	slices.Sort(names)
	want := []string{"api", "elasticsearch", "kafka", "migrate", "postgres", "projector", "relay", "worker"}
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for _, role := range []string{"api", "worker", "relay", "projector"} {
		s := project.Services[role]
		if !slices.Equal([]string(s.Command), []string{role}) {
			t.Errorf("%s runs %v", role, s.Command)
		}
		if s.Build == nil {
			t.Errorf("%s is not built from the repository's Dockerfile", role)
		}
		if dep, ok := s.DependsOn["migrate"]; !ok || dep.Condition != "service_completed_successfully" {
			t.Errorf("%s does not wait for the migration: %+v", role, s.DependsOn)
		}
		if v := s.Environment["ORDERFLOW_JWT_SECRET"]; v == nil || *v != "test-secret" {
			t.Errorf("%s: ORDERFLOW_JWT_SECRET not interpolated: %v", role, v)
		}
		if v := s.Environment["ORDERFLOW_DEV"]; v == nil || *v != "false" {
			t.Errorf("%s: not in production mode", role)
		}
		if s.HealthCheck == nil || len(s.HealthCheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", role)
		}
	}
}

// Without the JWT secret the compose file refuses to start, as it says.
func TestComposeFileRequiresTheJWTSecret(t *testing.T) {
	t.Parallel()
	opts, err := cli.NewProjectOptions([]string{"../compose/compose.yaml"}, cli.WithName("orderflow"), cli.WithEnv([]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.LoadProject(context.Background()); err == nil {
		t.Fatal("loaded without ORDERFLOW_JWT_SECRET")
	}
}
