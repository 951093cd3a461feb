// Package check lints, renders and validates the Helm chart in
// deploy/helm/orderflow offline: Helm's own linter and template engine (as
// a library), then every rendered object decoded strictly into its
// Kubernetes API type (k8s.io/api: unknown or misspelt fields, wrong types
// and duplicate keys fail), plus the properties the deployment relies on
// (probes, resources, HPA and PDB targets, the migration hook). It is its
// own Go module so that Helm's dependencies stay out of orderflow's.
package check

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

const chartDir = "../helm/orderflow"

// valueFiles are the example values every check runs with.
func valueFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(chartDir, "ci", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example values in %s/ci: %v", chartDir, err)
	}
	return files
}

func readValues(t *testing.T, file string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal(raw, &vals); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return vals
}

func TestChartLints(t *testing.T) {
	t.Parallel()
	for _, file := range valueFiles(t) {
		linter := lint.AllWithKubeVersion(chartDir, readValues(t, file), "orderflow", nil)
		for _, m := range linter.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("%s: %s", filepath.Base(file), m)
			}
		}
	}
}

// object is one rendered manifest.
type object struct {
	source string
	raw    []byte
	kind   string
	name   string
	meta   struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name        string            `json:"name"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
}

func render(t *testing.T, vals map[string]any) []object {
	t.Helper()
	chrt, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(chrt, vals, chartutil.ReleaseOptions{Name: "shop", Namespace: "orderflow", IsInstall: true, Revision: 1}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(chrt, rv)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []object
	for _, n := range names {
		if !strings.HasSuffix(n, ".yaml") {
			continue
		}
		for _, doc := range bytes.Split([]byte(files[n]), []byte("\n---")) {
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			o := object{source: n, raw: doc}
			if err := yaml.Unmarshal(doc, &o.meta); err != nil {
				t.Fatalf("%s: not YAML: %v\n%s", n, err, doc)
			}
			o.kind, o.name = o.meta.Kind, o.meta.Metadata.Name
			out = append(out, o)
		}
	}
	return out
}

func stripComments(doc []byte) []byte {
	var keep [][]byte
	for _, l := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			keep = append(keep, l)
		}
	}
	return bytes.Join(keep, []byte("\n"))
}

// strict decodes o into its API type, refusing unknown fields.
func strict(t *testing.T, o object, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(o.raw, into); err != nil {
		t.Errorf("%s %s (%s): %v", o.kind, o.name, o.source, err)
	}
}

func TestChartRendersValidObjects(t *testing.T) {
	t.Parallel()
	for _, file := range valueFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			vals := readValues(t, file)
			objs := render(t, vals)
			deployments := map[string]*appsv1.Deployment{}
			var hpas []*autoscalingv2.HorizontalPodAutoscaler
			var pdbs []*policyv1.PodDisruptionBudget
			var jobs []*batchv1.Job
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[o.kind]++
				if errs := validation.IsDNS1123Subdomain(o.name); len(errs) > 0 {
					t.Errorf("%s %q: invalid name: %v", o.kind, o.name, errs)
				}
				want := map[string]string{
					"Deployment": "apps/v1", "Service": "v1", "ConfigMap": "v1", "Secret": "v1",
					"Job": "batch/v1", "HorizontalPodAutoscaler": "autoscaling/v2", "PodDisruptionBudget": "policy/v1",
					"ServiceMonitor": "monitoring.coreos.com/v1", "PrometheusRule": "monitoring.coreos.com/v1",
				}[o.kind]
				if want == "" {
					t.Errorf("%s %s: unexpected kind", o.kind, o.name)
					continue
				}
				if o.meta.APIVersion != want {
					t.Errorf("%s %s: apiVersion %s, want %s", o.kind, o.name, o.meta.APIVersion, want)
				}
				switch o.kind {
				case "Deployment":
					var d appsv1.Deployment
					strict(t, o, &d)
					deployments[d.Name] = &d
				case "Service":
					strict(t, o, &corev1.Service{})
				case "ConfigMap":
					strict(t, o, &corev1.ConfigMap{})
				case "Secret":
					strict(t, o, &corev1.Secret{})
				case "Job":
					var j batchv1.Job
					strict(t, o, &j)
					j.Annotations = o.meta.Metadata.Annotations
					jobs = append(jobs, &j)
				case "HorizontalPodAutoscaler":
					var h autoscalingv2.HorizontalPodAutoscaler
					strict(t, o, &h)
					hpas = append(hpas, &h)
				case "PodDisruptionBudget":
					var p policyv1.PodDisruptionBudget
					strict(t, o, &p)
					pdbs = append(pdbs, &p)
				case "ServiceMonitor", "PrometheusRule":
					checkMonitoring(t, o)
				}
			}
			t.Logf("rendered %v", kinds)

			roles := []string{}
			for _, d := range deployments {
				roles = append(roles, d.Spec.Template.Labels["app.kubernetes.io/component"])
				checkDeployment(t, d)
			}
			sort.Strings(roles)
			if !slices.Equal(roles, []string{"api", "projector", "relay", "worker"}) {
				t.Errorf("deployments for roles %v, want api, projector, relay, worker", roles)
			}
			for _, h := range hpas {
				d := deployments[h.Spec.ScaleTargetRef.Name]
				if d == nil || h.Spec.ScaleTargetRef.Kind != "Deployment" {
					t.Errorf("HPA %s targets %v, not a rendered Deployment", h.Name, h.Spec.ScaleTargetRef)
					continue
				}
				if d.Spec.Replicas != nil {
					t.Errorf("Deployment %s sets replicas while HPA %s scales it", d.Name, h.Name)
				}
				if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < *h.Spec.MinReplicas {
					t.Errorf("HPA %s: min %v max %d", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
				}
			}
			for _, p := range pdbs {
				sel, err := labels.Parse(labelString(p.Spec.Selector.MatchLabels))
				if err != nil {
					t.Fatal(err)
				}
				matched := 0
				for _, d := range deployments {
					if sel.Matches(labels.Set(d.Spec.Template.Labels)) {
						matched++
					}
				}
				if matched != 1 {
					t.Errorf("PDB %s selects %d deployments, want 1", p.Name, matched)
				}
			}
			if len(jobs) != 1 {
				t.Fatalf("%d jobs, want the migration job", len(jobs))
			}
			job := jobs[0]
			if hooks := job.Annotations["helm.sh/hook"]; hooks != "pre-install,pre-upgrade" {
				t.Errorf("migration job hook %q", hooks)
			}
			if args := job.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"migrate"}) {
				t.Errorf("migration job runs %v", args)
			}
		})
	}
}

func labelString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// checkDeployment checks what a rolling update without downtime and a
// failover need.
func checkDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	sel, err := labels.Parse(labelString(d.Spec.Selector.MatchLabels))
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s: selector %v does not match its pods' labels %v", d.Name, d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate == nil ||
		d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("%s: strategy %+v, want a rolling update that keeps every pod until its successor is ready", d.Name, d.Spec.Strategy)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers", d.Name, len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	role := d.Spec.Template.Labels["app.kubernetes.io/component"]
	if !slices.Equal(c.Args, []string{role}) {
		t.Errorf("%s runs %v, want [%s]", d.Name, c.Args, role)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s: %s probe %+v, want GET %s on port http", d.Name, name, p, path)
		}
	}
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("startup", c.StartupProbe, "/healthz")
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
		if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s limit %s", d.Name, res, req.String(), lim.String())
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	for _, name := range []string{"ORDERFLOW_JWT_SECRET", "ORDERFLOW_POSTGRES_URL"} {
		if e, ok := env[name]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s: %s does not come from a Secret", d.Name, name)
		}
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].ConfigMapRef == nil {
		t.Errorf("%s: settings do not come from the ConfigMap", d.Name)
	}
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || *grace < 30 {
		t.Errorf("%s: terminationGracePeriodSeconds %v leaves no room for the graceful stop", d.Name, grace)
	}
}

// checkMonitoring checks the Prometheus Operator objects' shape: their
// CRDs are not in k8s.io/api, so only the fields this chart uses are
// known, and nothing else is accepted.
func checkMonitoring(t *testing.T, o object) {
	t.Helper()
	type meta struct {
		Name        string            `json:"name"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	switch o.kind {
	case "ServiceMonitor":
		var sm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   meta   `json:"metadata"`
			Spec       struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				Endpoints []struct {
					Port     string `json:"port"`
					Path     string `json:"path"`
					Interval string `json:"interval"`
				} `json:"endpoints"`
			} `json:"spec"`
		}
		strict(t, o, &sm)
		if len(sm.Spec.Endpoints) == 0 || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("ServiceMonitor %s: endpoints %+v", o.name, sm.Spec.Endpoints)
		}
	case "PrometheusRule":
		var pr struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   meta   `json:"metadata"`
			Spec       struct {
				Groups []struct {
					Name  string `json:"name"`
					Rules []struct {
						Alert       string            `json:"alert"`
						Expr        string            `json:"expr"`
						For         string            `json:"for"`
						Labels      map[string]string `json:"labels"`
						Annotations map[string]string `json:"annotations"`
					} `json:"rules"`
				} `json:"groups"`
			} `json:"spec"`
		}
		strict(t, o, &pr)
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" || r.Expr == "" || strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
					t.Errorf("PrometheusRule %s: rule %+v", o.name, r)
				}
			}
		}
	}
}
