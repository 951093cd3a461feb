package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.yaml.in/yaml/v3"
)

// DefaultPrometheusURL is where deploy/local/deps serves Prometheus;
// ORDERFLOW_PROMETHEUS_URL points tests elsewhere.
const DefaultPrometheusURL = "http://127.0.0.1:9090"

// Prometheus is the real Prometheus that deploy/local/deps runs, seen by a
// test: it scrapes what the test exposes and evaluates the alert rules of
// deploy/observability/rules.
type Prometheus struct {
	// URL is its base URL.
	URL string
	// TargetsDir is the directory of its file_sd target files, read from
	// its running configuration.
	TargetsDir string
	// ConfigYAML is its running configuration.
	ConfigYAML string
	client     *http.Client
}

// NewPrometheus finds the running Prometheus and its target directory, or
// fails t naming what is missing.
func NewPrometheus(t testing.TB) *Prometheus {
	t.Helper()
	p := &Prometheus{URL: DefaultPrometheusURL, client: &http.Client{Timeout: 10 * time.Second}}
	if v, ok := os.LookupEnv("ORDERFLOW_PROMETHEUS_URL"); ok {
		p.URL = strings.TrimRight(v, "/")
	}
	var cfg struct {
		YAML string `json:"yaml"`
	}
	if err := p.api(context.Background(), "/api/v1/status/config", nil, &cfg); err != nil {
		t.Fatalf("Prometheus at %s: %v; %s", p.URL, err, startHint)
	}
	p.ConfigYAML = cfg.YAML
	dir, err := targetsDir(cfg.YAML)
	if err != nil {
		t.Fatalf("Prometheus at %s: %v", p.URL, err)
	}
	p.TargetsDir = dir
	return p
}

// targetsDir is the directory of the first file_sd glob of the config.
func targetsDir(configYAML string) (string, error) {
	var cfg struct {
		ScrapeConfigs []struct {
			FileSD []struct {
				Files []string `yaml:"files"`
			} `yaml:"file_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(configYAML), &cfg); err != nil {
		return "", fmt.Errorf("parse its configuration: %w", err)
	}
	for _, sc := range cfg.ScrapeConfigs {
		for _, sd := range sc.FileSD {
			for _, f := range sd.Files {
				return filepath.Dir(f), nil
			}
		}
	}
	return "", fmt.Errorf("its configuration has no file_sd_configs for tests to add targets to (is it the one deploy/local/deps starts?)")
}

// Expose serves reg's metrics on a port of its own and has Prometheus
// scrape them as job, a name unique to the test; the target is removed
// when t ends. It returns job, the label every query of the test selects.
func (p *Prometheus) Expose(t testing.TB, reg prometheus.Gatherer) string {
	t.Helper()
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	job := "orderflow-test-" + randomID()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatalf("metrics server URL: %v", err)
	}
	body, err := json.Marshal([]map[string]any{{
		"targets": []string{u.Host},
		"labels":  map[string]string{"job": job, "test": t.Name()},
	}})
	if err != nil {
		t.Fatalf("encode target: %v", err)
	}
	// Written beside and renamed into place, so Prometheus never reads half
	// a file; the temporary name does not match *.json.
	final := filepath.Join(p.TargetsDir, job+".json")
	tmp := filepath.Join(p.TargetsDir, "."+job+".tmp")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		t.Fatalf("write Prometheus target: %v", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		t.Fatalf("write Prometheus target: %v", err)
	}
	t.Cleanup(func() { _ = os.Remove(final) })
	return job
}

// Sample is one series of an instant query's answer.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Query runs an instant PromQL query now.
func (p *Prometheus) Query(ctx context.Context, expr string) ([]Sample, error) {
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := p.api(ctx, "/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, fmt.Errorf("query %q: %w", expr, err)
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: a %s, not an instant vector", expr, data.ResultType)
	}
	out := make([]Sample, 0, len(data.Result))
	for _, r := range data.Result {
		s, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("query %q: value %v: %w", expr, r.Value[1], err)
		}
		out = append(out, Sample{Labels: r.Metric, Value: v})
	}
	return out, nil
}

// Numbers keeps the samples whose value is a number (not NaN): a quantile
// or ratio over nothing observed is NaN, which is no data.
func Numbers(samples []Sample) []Sample {
	var out []Sample
	for _, s := range samples {
		if !math.IsNaN(s.Value) {
			out = append(out, s)
		}
	}
	return out
}

// Alert is one active alert.
type Alert struct {
	Labels map[string]string `json:"labels"`
	State  string            `json:"state"` // pending or firing
}

// Alerts lists the active alerts.
func (p *Prometheus) Alerts(ctx context.Context) ([]Alert, error) {
	var data struct {
		Alerts []Alert `json:"alerts"`
	}
	if err := p.api(ctx, "/api/v1/alerts", nil, &data); err != nil {
		return nil, err
	}
	return data.Alerts, nil
}

// RuleNames lists the names of the alerting rules Prometheus has loaded.
func (p *Prometheus) RuleNames(ctx context.Context) ([]string, error) {
	var data struct {
		Groups []struct {
			Rules []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.api(ctx, "/api/v1/rules", nil, &data); err != nil {
		return nil, err
	}
	var names []string
	for _, g := range data.Groups {
		for _, r := range g.Rules {
			if r.Type == "alerting" {
				names = append(names, r.Name)
			}
		}
	}
	return names, nil
}

// api GETs path and decodes the data of Prometheus's answer into out.
func (p *Prometheus) api(ctx context.Context, path string, q url.Values, out any) error {
	u := p.URL + path
	if q != nil {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("GET %s: %s: %w", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, env.Error)
	}
	return json.Unmarshal(env.Data, out)
}
