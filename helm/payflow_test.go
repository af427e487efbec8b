// Package helm_test renders the payflow chart with the helm binary that `make tools`
// installs into ./bin and checks the manifests an operator would apply: one image for
// every role, probes, secrets only by reference, the migration hook, autoscaling and
// disruption budgets, security contexts, and the monitoring objects.
package helm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	chartDir    = "payflow"
	prodValues  = "payflow/ci/prod-values.yaml"
	release     = "pf"
	namespace   = "payments"
	kubeVersion = "1.30.0" // helm built by go install reports an old default version
)

// pendingKeys are variables the chart sets ahead of the code that reads them, each
// being added on another branch; a key can leave this list once internal/config reads it.
// Any other PAYFLOW_* name the chart renders must be one internal/config reads, so that
// a typo in the chart (or a renamed variable) fails here instead of being ignored by
// the pods.
var pendingKeys = map[string]string{
	"PAYFLOW_PAYLOAD_KEYS":          "payload encryption keys (codec)",
	"PAYFLOW_WORKER_METRICS_ADDR":   "the worker's /metrics and /healthz listener",
	"PAYFLOW_WEBHOOK_ALLOW_PRIVATE": "webhook SSRF guard",
}

// secretKeys must only ever come from a Secret.
var secretKeys = []string{
	"PAYFLOW_DB_DSN", "PAYFLOW_SECRETS_KEY", "PAYFLOW_OPS_TOKENS", "PAYFLOW_PAYLOAD_KEYS",
	"PAYFLOW_STRIPE_API_KEY", "PAYFLOW_STRIPE_WEBHOOK_SECRET", "PAYFLOW_BANKSIM_CALLBACK_SECRET",
}

// The manifest fields the checks read.
type (
	meta struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	}
	envVar struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
				Key  string `yaml:"key"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	container struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		Env             []envVar `yaml:"env"`
		ReadinessProbe  *probe   `yaml:"readinessProbe"`
		LivenessProbe   *probe   `yaml:"livenessProbe"`
		SecurityContext struct {
			RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			Capabilities             struct {
				Drop []string `yaml:"drop"`
			} `yaml:"capabilities"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	podTemplate struct {
		Metadata meta `yaml:"metadata"`
		Spec     struct {
			SecurityContext struct {
				RunAsNonRoot *bool `yaml:"runAsNonRoot"`
				RunAsUser    *int  `yaml:"runAsUser"`
			} `yaml:"securityContext"`
			Containers []container `yaml:"containers"`
			Volumes    []struct {
				Name   string `yaml:"name"`
				Secret *struct {
					SecretName string `yaml:"secretName"`
				} `yaml:"secret"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	}
	// workload is a Deployment or a Job.
	workload struct {
		Spec struct {
			Replicas *int `yaml:"replicas"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Template podTemplate `yaml:"template"`
		} `yaml:"spec"`
	}
	hpa struct {
		Spec struct {
			ScaleTargetRef struct {
				Kind string `yaml:"kind"`
				Name string `yaml:"name"`
			} `yaml:"scaleTargetRef"`
			MinReplicas int `yaml:"minReplicas"`
			MaxReplicas int `yaml:"maxReplicas"`
			Metrics     []struct {
				Resource struct {
					Name string `yaml:"name"`
				} `yaml:"resource"`
			} `yaml:"metrics"`
		} `yaml:"spec"`
	}
	pdb struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	service struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name string `yaml:"name"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	serviceMonitor struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	prometheusRule struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert  string `yaml:"alert"`
					Record string `yaml:"record"`
					Expr   string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		} `yaml:"spec"`
	}
)

// object is one rendered manifest; node keeps the whole document for typed decoding.
type object struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	node       *yaml.Node
}

func (o object) decode(t *testing.T, into any) {
	t.Helper()
	if err := o.node.Decode(into); err != nil {
		t.Fatalf("%s %s: %v", o.Kind, o.Metadata.Name, err)
	}
}

type manifests []object

func (m manifests) find(kind, name string) (object, bool) {
	for _, o := range m {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, true
		}
	}
	return object{}, false
}

func (m manifests) get(t *testing.T, kind, name string) object {
	t.Helper()
	o, ok := m.find(kind, name)
	if !ok {
		t.Fatalf("no %s %q in the rendered chart; have %v", kind, name, m.names())
	}
	return o
}

func (m manifests) ofKind(kind string) []object {
	var out []object
	for _, o := range m {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (m manifests) names() []string {
	var out []string
	for _, o := range m {
		out = append(out, o.Kind+"/"+o.Metadata.Name)
	}
	return out
}

// pods are the pod templates of every Deployment and Job, by "Kind/name".
func (m manifests) pods(t *testing.T) map[string]podTemplate {
	t.Helper()
	out := map[string]podTemplate{}
	for _, o := range m {
		if o.Kind == "Deployment" || o.Kind == "Job" {
			var w workload
			o.decode(t, &w)
			out[o.Kind+"/"+o.Metadata.Name] = w.Spec.Template
		}
	}
	return out
}

// helmBin is the helm that make installs.
func helmBin(t *testing.T) string { return toolBin(t, "helm", "make helm-check (or make tools)") }

// toolBin is a binary that make installs into ./bin (or PAYFLOW_TEST_BIN_DIR); a
// missing one fails the test, never skips it, naming the make target that installs it.
func toolBin(t *testing.T, name, install string) string {
	t.Helper()
	dir := os.Getenv("PAYFLOW_TEST_BIN_DIR")
	if dir == "" {
		dir = filepath.Join("..", "bin")
	}
	bin, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is not installed at %s: run %s first", name, bin, install)
	}
	return bin
}

// helmTemplate runs helm template on the chart with extra arguments (values files,
// --set) and returns its output or its error with helm's stderr.
func helmTemplate(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), append([]string{
		"template", release, chartDir, "--namespace", namespace, "--kube-version", kubeVersion,
	}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

func render(t *testing.T, args ...string) manifests {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	var m manifests
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered chart is not YAML: %v", err)
		}
		var o object
		if err := n.Decode(&o); err != nil {
			t.Fatal(err)
		}
		if o.Kind == "" {
			continue // an empty document
		}
		o.node = &n
		m = append(m, o)
	}
	return m
}

func name(component string) string { return release + "-payflow-" + component }

// configs are the values the chart must render correctly: the defaults, the
// production-like file CI also lints, and the optional parts switched on.
var configs = []struct {
	name       string
	args       []string
	monitoring bool
}{
	{name: "default values"},
	{name: "prod values", args: []string{"-f", prodValues}, monitoring: true},
	{name: "banksim, TLS without client certificate, no autoscaling", args: []string{
		"--set", "banksim.enabled=true", "--set", "temporal.tls.enabled=true",
		"--set", "api.autoscaling.enabled=false", "--set", "worker.autoscaling.enabled=false",
		"--set", "metrics.serviceMonitor.enabled=true",
	}},
}

func TestOneImageTwoDeployments(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.args...)
			pods := m.pods(t)
			api := pods["Deployment/"+name("api")]
			worker := pods["Deployment/"+name("worker")]
			job := pods["Job/"+name("migrate")]
			for role, p := range map[string]podTemplate{"api": api, "worker": worker, "migrate": job} {
				if len(p.Spec.Containers) != 1 {
					t.Fatalf("%s: %d containers, want 1", role, len(p.Spec.Containers))
				}
				if got := p.Spec.Containers[0].Args; !slices.Equal(got[:1], []string{role}) {
					t.Errorf("%s runs payflow %v, want payflow %s", role, got, role)
				}
			}
			img := api.Spec.Containers[0].Image
			if img == "" || worker.Spec.Containers[0].Image != img || job.Spec.Containers[0].Image != img {
				t.Errorf("images differ: api %q, worker %q, migrate %q", img,
					worker.Spec.Containers[0].Image, job.Spec.Containers[0].Image)
			}
			if c.name == "prod values" && img != "registry.example.com/payments/payflow:1.4.2" {
				t.Errorf("image %q does not follow image.repository and image.tag", img)
			}
			for _, d := range []string{"api", "worker"} {
				var w workload
				m.get(t, "Deployment", name(d)).decode(t, &w)
				if !labelsMatch(w.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels) ||
					w.Spec.Selector.MatchLabels["app.kubernetes.io/component"] != d {
					t.Errorf("%s: selector %v does not select its own pods only (%v)", d,
						w.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels)
				}
			}
		})
	}
}

func TestProbes(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			pods := render(t, c.args...).pods(t)
			api := pods["Deployment/"+name("api")].Spec.Containers[0]
			checkProbe(t, "api readiness", api.ReadinessProbe, "/readyz", api)
			checkProbe(t, "api liveness", api.LivenessProbe, "/healthz", api)
			worker := pods["Deployment/"+name("worker")].Spec.Containers[0]
			checkProbe(t, "worker liveness", worker.LivenessProbe, "/healthz", worker)
			checkProbe(t, "worker readiness", worker.ReadinessProbe, "/healthz", worker)
			if addr := envValue(worker, "PAYFLOW_WORKER_METRICS_ADDR"); !strings.HasPrefix(addr, "0.0.0.0:") {
				t.Errorf("worker metrics listener %q is not reachable by probes and Prometheus", addr)
			}
		})
	}
}

func checkProbe(t *testing.T, what string, p *probe, path string, c container) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: no HTTP probe", what)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %q, want %q", what, p.HTTPGet.Path, path)
	}
	port := fmt.Sprint(p.HTTPGet.Port)
	for _, cp := range c.Ports {
		if cp.Name == port || fmt.Sprint(cp.ContainerPort) == port {
			return
		}
	}
	t.Errorf("%s: port %s is not a port of container %s", what, port, c.Name)
}

// TestSecretsOnlyByReference: no Secret is rendered, every secret variable comes from
// a secretKeyRef, and no plain value looks like a credential.
func TestSecretsOnlyByReference(t *testing.T) {
	credential := regexp.MustCompile(`(?i)mysql://|@tcp\(|sk_(live|test)_|password`)
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.args...)
			if s := m.ofKind("Secret"); len(s) > 0 {
				t.Errorf("the chart renders a Secret (%s): secrets must come from existing Secrets", s[0].Metadata.Name)
			}
			refs := 0
			for pod, p := range m.pods(t) {
				for _, ctr := range p.Spec.Containers {
					for _, e := range ctr.Env {
						isSecret := slices.Contains(secretKeys, e.Name)
						ref := e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil
						switch {
						case isSecret && (e.Value != nil || !ref):
							t.Errorf("%s: %s is not from a secretKeyRef", pod, e.Name)
						case ref && (e.ValueFrom.SecretKeyRef.Name == "" || e.ValueFrom.SecretKeyRef.Key == ""):
							t.Errorf("%s: %s names no Secret or key", pod, e.Name)
						case e.Value != nil && credential.MatchString(*e.Value):
							t.Errorf("%s: %s has a plain value that looks like a credential", pod, e.Name)
						}
						if ref {
							refs++
						}
					}
				}
			}
			if refs == 0 {
				t.Error("no variable comes from a Secret at all")
			}
		})
	}
	// The database DSN and payflow's Secret are required: no silent default to nothing.
	for _, unset := range []string{"database.existingSecret", "secrets.existingSecret"} {
		if _, err := helmTemplate(t, "--set", unset+"="); err == nil || !strings.Contains(err.Error(), unset) {
			t.Errorf("rendering with %s empty: %v, want a failure naming it", unset, err)
		}
	}
}

// TestEnvironmentKeys: every PAYFLOW_* variable the chart sets is one the code reads
// (or one on its way, in pendingKeys), and each role gets what it needs.
func TestEnvironmentKeys(t *testing.T) {
	known := configKeys(t)
	for k := range pendingKeys {
		if known[k] {
			// Not an error: the branch that adds the key may merge first.
			t.Logf("%s is read by internal/config now: it can leave pendingKeys", k)
		}
		known[k] = true
	}
	need := map[string][]string{
		"api": {"PAYFLOW_DB_DSN", "PAYFLOW_SECRETS_KEY", "PAYFLOW_OPS_TOKENS", "PAYFLOW_PAYLOAD_KEYS",
			"PAYFLOW_TEMPORAL_ADDRESS", "PAYFLOW_TEMPORAL_NAMESPACE", "PAYFLOW_TASK_QUEUE", "PAYFLOW_API_ADDR"},
		"worker": {"PAYFLOW_DB_DSN", "PAYFLOW_SECRETS_KEY", "PAYFLOW_PAYLOAD_KEYS",
			"PAYFLOW_TEMPORAL_ADDRESS", "PAYFLOW_TEMPORAL_NAMESPACE", "PAYFLOW_TASK_QUEUE"},
		"migrate": {"PAYFLOW_DB_DSN"},
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			pods := render(t, c.args...).pods(t)
			for pod, p := range pods {
				for _, ctr := range p.Spec.Containers {
					for _, e := range ctr.Env {
						if strings.HasPrefix(e.Name, "PAYFLOW_") && !known[e.Name] {
							t.Errorf("%s sets %s, which internal/config does not read", pod, e.Name)
						}
					}
				}
			}
			for role, keys := range need {
				kind := "Deployment/"
				if role == "migrate" {
					kind = "Job/"
				}
				ctr := pods[kind+name(role)].Spec.Containers[0]
				for _, k := range keys {
					if !hasEnv(ctr, k) {
						t.Errorf("%s has no %s", role, k)
					}
				}
			}
			if hasEnv(pods["Deployment/"+name("worker")].Spec.Containers[0], "PAYFLOW_OPS_TOKENS") {
				t.Error("the worker gets the ops tokens it never uses")
			}
			if v := envValue(pods["Deployment/"+name("worker")].Spec.Containers[0], "PAYFLOW_WEBHOOK_ALLOW_PRIVATE"); v != "false" {
				t.Errorf("PAYFLOW_WEBHOOK_ALLOW_PRIVATE=%q in a cluster, want false", v)
			}
		})
	}
}

// configKeys are the PAYFLOW_* names internal/config reads.
func configKeys(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "internal", "config", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("internal/config sources: %v", err)
	}
	re := regexp.MustCompile(`"(PAYFLOW_[A-Z0-9_]+)"`)
	keys := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
	}
	return keys
}

func TestTemporalTLS(t *testing.T) {
	pods := render(t, "-f", prodValues).pods(t)
	for _, role := range []string{"api", "worker"} {
		p := pods["Deployment/"+name(role)]
		ctr := p.Spec.Containers[0]
		var mount string
		for _, v := range p.Spec.Volumes {
			if v.Secret != nil && v.Secret.SecretName == "payflow-temporal-client-tls" {
				for _, vm := range ctr.VolumeMounts {
					if vm.Name == v.Name {
						mount = vm.MountPath
					}
				}
			}
		}
		if mount == "" {
			t.Fatalf("%s does not mount the Temporal client certificate Secret", role)
		}
		for k, file := range map[string]string{
			"PAYFLOW_TEMPORAL_TLS_CERT": "tls.crt", "PAYFLOW_TEMPORAL_TLS_KEY": "tls.key", "PAYFLOW_TEMPORAL_TLS_CA": "ca.crt",
		} {
			if got, want := envValue(ctr, k), mount+"/"+file; got != want {
				t.Errorf("%s: %s=%q, want %q", role, k, got, want)
			}
		}
		if got := envValue(ctr, "PAYFLOW_TEMPORAL_TLS_SERVER_NAME"); got != "temporal-frontend.temporal.svc" {
			t.Errorf("%s: server name %q", role, got)
		}
	}
	// TLS without a client certificate still turns TLS on, through the server name.
	pods = render(t, "--set", "temporal.tls.enabled=true").pods(t)
	if got := envValue(pods["Deployment/"+name("worker")].Spec.Containers[0], "PAYFLOW_TEMPORAL_TLS_SERVER_NAME"); got != "temporal-frontend.temporal.svc" {
		t.Errorf("TLS with the system roots: server name %q, want the address's host", got)
	}
	// Plain by default: no TLS variable at all.
	for _, e := range render(t).pods(t)["Deployment/"+name("api")].Spec.Containers[0].Env {
		if strings.HasPrefix(e.Name, "PAYFLOW_TEMPORAL_TLS_") {
			t.Errorf("TLS is off by default but %s is set", e.Name)
		}
	}
}

func TestMigrationJobIsAHook(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			job := render(t, c.args...).get(t, "Job", name("migrate"))
			a := job.Metadata.Annotations
			hooks := strings.Split(strings.ReplaceAll(a["helm.sh/hook"], " ", ""), ",")
			sort.Strings(hooks)
			if !slices.Equal(hooks, []string{"pre-install", "pre-upgrade"}) {
				t.Errorf("helm.sh/hook %q, want pre-install,pre-upgrade", a["helm.sh/hook"])
			}
			policy := a["helm.sh/hook-delete-policy"]
			if !strings.Contains(policy, "before-hook-creation") || !strings.Contains(policy, "hook-succeeded") {
				t.Errorf("helm.sh/hook-delete-policy %q: a second upgrade would find the old Job", policy)
			}
			var w workload
			job.decode(t, &w)
			if args := w.Spec.Template.Spec.Containers[0].Args; slices.Contains(args, "--seed-demo") {
				t.Errorf("the migration seeds the demo merchant by default: %v", args)
			}
		})
	}
}

func TestAutoscalingAndDisruptionBudgets(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.args...)
			autoscaled := !strings.Contains(c.name, "no autoscaling")
			for _, d := range []string{"api", "worker"} {
				var w workload
				m.get(t, "Deployment", name(d)).decode(t, &w)
				o, ok := m.find("HorizontalPodAutoscaler", name(d))
				if ok != autoscaled {
					t.Fatalf("%s: HPA present %v, want %v", d, ok, autoscaled)
				}
				if autoscaled {
					if o.APIVersion != "autoscaling/v2" {
						t.Errorf("%s HPA is %s, want autoscaling/v2", d, o.APIVersion)
					}
					var h hpa
					o.decode(t, &h)
					if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != name(d) {
						t.Errorf("%s HPA scales %+v", d, h.Spec.ScaleTargetRef)
					}
					if h.Spec.MinReplicas < 2 || h.Spec.MaxReplicas < h.Spec.MinReplicas {
						t.Errorf("%s HPA min %d max %d", d, h.Spec.MinReplicas, h.Spec.MaxReplicas)
					}
					if len(h.Spec.Metrics) == 0 || h.Spec.Metrics[0].Resource.Name != "cpu" {
						t.Errorf("%s HPA has no CPU target", d)
					}
					if w.Spec.Replicas != nil {
						t.Errorf("%s: the Deployment sets replicas although the HPA owns them (each upgrade would reset the count)", d)
					}
				} else if w.Spec.Replicas == nil {
					t.Errorf("%s: no replicas without an HPA", d)
				}
				var b pdb
				m.get(t, "PodDisruptionBudget", name(d)).decode(t, &b)
				if !labelsMatch(b.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels) ||
					!slices.Equal(sortedKeys(b.Spec.Selector.MatchLabels), sortedKeys(w.Spec.Selector.MatchLabels)) {
					t.Errorf("%s PDB selects %v, not the Deployment's pods", d, b.Spec.Selector.MatchLabels)
				}
			}
		})
	}
}

func TestSecurityContext(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			for pod, p := range render(t, c.args...).pods(t) {
				if p.Spec.SecurityContext.RunAsNonRoot == nil || !*p.Spec.SecurityContext.RunAsNonRoot {
					t.Errorf("%s: pod runAsNonRoot is not true", pod)
				}
				if u := p.Spec.SecurityContext.RunAsUser; u == nil || *u == 0 {
					t.Errorf("%s: pod runs as root", pod)
				}
				for _, ctr := range p.Spec.Containers {
					sc := ctr.SecurityContext
					if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
						t.Errorf("%s/%s: runAsNonRoot is not true", pod, ctr.Name)
					}
					if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
						t.Errorf("%s/%s: root filesystem is writable", pod, ctr.Name)
					}
					if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
						t.Errorf("%s/%s: privilege escalation allowed", pod, ctr.Name)
					}
					if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
						t.Errorf("%s/%s: drops capabilities %v, want [ALL]", pod, ctr.Name, sc.Capabilities.Drop)
					}
					if !slices.ContainsFunc(ctr.VolumeMounts, func(v struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					}) bool {
						return v.MountPath == "/tmp"
					}) {
						t.Errorf("%s/%s: no writable /tmp on a read-only root filesystem", pod, ctr.Name)
					}
				}
			}
		})
	}
}

func TestBanksimOptional(t *testing.T) {
	if _, ok := render(t).find("Deployment", name("banksim")); ok {
		t.Error("the bank simulator is deployed by default")
	}
	m := render(t, "--set", "banksim.enabled=true")
	var w workload
	m.get(t, "Deployment", name("banksim")).decode(t, &w)
	if args := w.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"banksim"}) {
		t.Errorf("banksim runs %v", args)
	}
	var s service
	m.get(t, "Service", name("banksim")).decode(t, &s)
	if !labelsMatch(s.Spec.Selector, w.Spec.Template.Metadata.Labels) {
		t.Errorf("the banksim Service selects %v", s.Spec.Selector)
	}
	want := "http://" + name("banksim") + "." + namespace + ".svc:8090"
	for _, role := range []string{"api", "worker"} {
		ctr := m.pods(t)["Deployment/"+name(role)].Spec.Containers[0]
		if got := envValue(ctr, "PAYFLOW_BANKSIM_URL"); got != want {
			t.Errorf("%s: PAYFLOW_BANKSIM_URL=%q, want %q", role, got, want)
		}
	}
}

func TestMonitoring(t *testing.T) {
	wantAlerts := []string{
		"PayflowFlowsNotFinishing", "PayflowFlowsSlow", "PayflowWebhookBacklogGrowing",
		"PayflowReconciliationDifferences", "PayflowLedgerCheckFailing", "PayflowWorkerTaskQueueBacklog",
		"PayflowWorkerDown", "PayflowWorkflowNonDeterminism", "PayflowFlowsNeedAttention", "PayflowLedgerCheckStale",
		"PayflowLedgerCheckAbsent",
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			m := render(t, c.args...)
			for _, component := range []string{"api", "worker"} {
				// The API's /metrics is on its operators' listener, apart from
				// merchant traffic.
				svc := name(component)
				if component == "api" {
					svc = name("api-ops")
				}
				var s service
				m.get(t, "Service", svc).decode(t, &s)
				o, ok := m.find("ServiceMonitor", name(component))
				enabled := c.monitoring || strings.Contains(strings.Join(c.args, " "), "serviceMonitor.enabled=true")
				if ok != enabled {
					t.Fatalf("%s ServiceMonitor present %v, want %v", component, ok, enabled)
				}
				if !ok {
					continue
				}
				if o.APIVersion != "monitoring.coreos.com/v1" {
					t.Errorf("ServiceMonitor apiVersion %s", o.APIVersion)
				}
				var sm serviceMonitor
				o.decode(t, &sm)
				if !labelsMatch(sm.Spec.Selector.MatchLabels, m.get(t, "Service", svc).Metadata.Labels) {
					t.Errorf("%s ServiceMonitor does not select its Service", component)
				}
				if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Path != "/metrics" ||
					!slices.ContainsFunc(s.Spec.Ports, func(p struct {
						Name string `yaml:"name"`
					}) bool {
						return p.Name == sm.Spec.Endpoints[0].Port
					}) {
					t.Errorf("%s ServiceMonitor endpoints %+v do not scrape /metrics on a port of the Service", component, sm.Spec.Endpoints)
				}
			}
			rules := m.ofKind("PrometheusRule")
			if !c.monitoring {
				if len(rules) > 0 {
					t.Error("PrometheusRule rendered while disabled")
				}
				return
			}
			if len(rules) != 1 || rules[0].APIVersion != "monitoring.coreos.com/v1" {
				t.Fatalf("want one monitoring.coreos.com/v1 PrometheusRule, have %d", len(rules))
			}
			var pr prometheusRule
			rules[0].decode(t, &pr)
			var alerts []string
			for _, g := range pr.Spec.Groups {
				for _, r := range g.Rules {
					if r.Alert == "" {
						continue
					}
					alerts = append(alerts, r.Alert)
					if strings.TrimSpace(r.Expr) == "" {
						t.Errorf("alert %s has an empty expr", r.Alert)
					}
					if strings.Contains(r.Expr, "<no value>") || strings.Contains(r.Expr, "%!") {
						t.Errorf("alert %s has a template hole: %s", r.Alert, r.Expr)
					}
				}
			}
			for _, a := range wantAlerts {
				if !slices.Contains(alerts, a) {
					t.Errorf("no alert %s (have %v)", a, alerts)
				}
			}
		})
	}
}

// The operators' listener (PAYFLOW_OPS_ADDR: the ops API, /codec, /metrics) is a port
// of its own, exposed by a ClusterIP Service of its own and never by the merchant
// Service, whatever type that one is.
func TestOpsListener(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			for _, args := range [][]string{c.args, append(slices.Clone(c.args), "--set", "api.service.type=LoadBalancer")} {
				m := render(t, args...)
				ctr := m.pods(t)["Deployment/"+name("api")].Spec.Containers[0]
				ports := map[string]int{}
				for _, p := range ctr.Ports {
					ports[p.Name] = p.ContainerPort
				}
				if ports["ops"] == 0 || ports["ops"] == ports["http"] {
					t.Fatalf("api container ports %v: want an ops port apart from http", ports)
				}
				env := map[string]string{}
				for _, e := range ctr.Env {
					if e.Value != nil {
						env[e.Name] = *e.Value
					}
				}
				if want := fmt.Sprintf("0.0.0.0:%d", ports["ops"]); env["PAYFLOW_OPS_ADDR"] != want || env["PAYFLOW_API_ADDR"] == want {
					t.Errorf("PAYFLOW_OPS_ADDR %q, PAYFLOW_API_ADDR %q: want the ops port %s apart", env["PAYFLOW_OPS_ADDR"], env["PAYFLOW_API_ADDR"], want)
				}
				type svcPorts struct {
					Spec struct {
						Type  string `yaml:"type"`
						Ports []struct {
							Name       string `yaml:"name"`
							TargetPort any    `yaml:"targetPort"`
						} `yaml:"ports"`
					} `yaml:"spec"`
				}
				var merchant, ops svcPorts
				m.get(t, "Service", name("api")).decode(t, &merchant)
				m.get(t, "Service", name("api-ops")).decode(t, &ops)
				for _, p := range merchant.Spec.Ports {
					if p.TargetPort != "http" {
						t.Errorf("the merchant Service exposes %v (%s): only the merchant listener", p.TargetPort, p.Name)
					}
				}
				if ops.Spec.Type != "ClusterIP" || len(ops.Spec.Ports) != 1 || ops.Spec.Ports[0].TargetPort != "ops" {
					t.Errorf("the ops Service is %s with ports %+v: want ClusterIP to the ops port only", ops.Spec.Type, ops.Spec.Ports)
				}
			}
		})
	}
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func hasEnv(c container, key string) bool {
	return slices.ContainsFunc(c.Env, func(e envVar) bool { return e.Name == key })
}

func envValue(c container, key string) string {
	for _, e := range c.Env {
		if e.Name == key && e.Value != nil {
			return *e.Value
		}
	}
	return ""
}

// retentionVars are the PAYFLOW_RETENTION_* variables by their key under retention.
var retentionVars = map[string]string{
	"events": "PAYFLOW_RETENTION_EVENTS", "webhookAttempts": "PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS",
	"audit": "PAYFLOW_RETENTION_AUDIT", "nonces": "PAYFLOW_RETENTION_NONCES",
	"idempotencyKeys": "PAYFLOW_RETENTION_IDEMPOTENCY_KEYS", "rateLimits": "PAYFLOW_RETENTION_RATE_LIMITS",
	"bankCallbacks": "PAYFLOW_RETENTION_BANK_CALLBACKS",
	"paymentCodes":  "PAYFLOW_RETENTION_PAYMENT_CODES",
}

// TestRetentionAndTrustedProxies: retention.* reaches the worker, whose purge schedule
// deletes what is past it, as PAYFLOW_RETENTION_*, and api.trustedProxies the API as
// PAYFLOW_TRUSTED_PROXIES; what is left empty sets nothing (the binary's defaults
// apply), and no other role gets them. The worker gets the API's signature tolerance,
// which the nonces' default retention and floor follow.
func TestRetentionAndTrustedProxies(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		retention map[string]string // the worker's PAYFLOW_RETENTION_*, exactly
		proxies   string            // the API's PAYFLOW_TRUSTED_PROXIES; "": unset
		tolerance string
	}{
		{name: "defaults set nothing", retention: map[string]string{}, tolerance: "300s"},
		{name: "every kind and a list of proxies", args: []string{
			"--set", "retention.events=2400h", "--set", "retention.webhookAttempts=336h",
			"--set", "retention.audit=8760h", "--set", "retention.nonces=30m",
			"--set", "retention.idempotencyKeys=48h", "--set", "retention.rateLimits=2h",
			"--set", "retention.bankCallbacks=72h", "--set", "config.signatureTolerance=600s",
			"--set", "api.trustedProxies={10.0.0.0/8,192.168.4.1}",
		}, retention: map[string]string{
			"PAYFLOW_RETENTION_EVENTS": "2400h", "PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS": "336h",
			"PAYFLOW_RETENTION_AUDIT": "8760h", "PAYFLOW_RETENTION_NONCES": "30m",
			"PAYFLOW_RETENTION_IDEMPOTENCY_KEYS": "48h", "PAYFLOW_RETENTION_RATE_LIMITS": "2h",
			"PAYFLOW_RETENTION_BANK_CALLBACKS": "72h",
		}, proxies: "10.0.0.0/8,192.168.4.1", tolerance: "600s"},
		{name: "0 is a value, empty is none, proxies as one string", args: []string{
			"--set", "retention.audit=0", "--set", "retention.events=", "--set-string", "retention.bankCallbacks=0",
			"--set-string", "api.trustedProxies=10.1.0.0/16\\,10.2.0.7",
		}, retention: map[string]string{"PAYFLOW_RETENTION_AUDIT": "0", "PAYFLOW_RETENTION_BANK_CALLBACKS": "0"},
			proxies: "10.1.0.0/16,10.2.0.7", tolerance: "300s"},
		{name: "a values file", args: []string{"-f", "testdata/retention-values.yaml"}, retention: map[string]string{
			"PAYFLOW_RETENTION_AUDIT": "0", "PAYFLOW_RETENTION_NONCES": "15m",
		}, proxies: "10.0.0.0/8", tolerance: "300s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods := render(t, tc.args...).pods(t)
			for _, role := range []string{"Deployment/" + name("api"), "Deployment/" + name("worker"), "Job/" + name("migrate")} {
				ctr := pods[role].Spec.Containers[0]
				got := map[string]string{}
				for _, e := range ctr.Env {
					if strings.HasPrefix(e.Name, "PAYFLOW_RETENTION_") {
						if e.Value == nil {
							t.Errorf("%s: %s is not a plain value", role, e.Name)
							continue
						}
						got[e.Name] = *e.Value
					}
				}
				want := map[string]string{}
				if strings.HasSuffix(role, "-worker") {
					want = tc.retention
					if v := envValue(ctr, "PAYFLOW_SIGNATURE_TOLERANCE"); v != tc.tolerance {
						t.Errorf("worker: PAYFLOW_SIGNATURE_TOLERANCE=%q, want the API's %q (the nonces' retention follows it)", v, tc.tolerance)
					}
				}
				if !maps.Equal(got, want) {
					t.Errorf("%s: retention %v, want %v", role, got, want)
				}
				wantProxies := ""
				if strings.HasSuffix(role, "-api") {
					wantProxies = tc.proxies
					if v := envValue(ctr, "PAYFLOW_SIGNATURE_TOLERANCE"); v != tc.tolerance {
						t.Errorf("api: PAYFLOW_SIGNATURE_TOLERANCE=%q, want %q", v, tc.tolerance)
					}
				}
				if hasEnv(ctr, "PAYFLOW_TRUSTED_PROXIES") != (wantProxies != "") || envValue(ctr, "PAYFLOW_TRUSTED_PROXIES") != wantProxies {
					t.Errorf("%s: PAYFLOW_TRUSTED_PROXIES=%q (set: %v), want %q", role, envValue(ctr, "PAYFLOW_TRUSTED_PROXIES"), hasEnv(ctr, "PAYFLOW_TRUSTED_PROXIES"), wantProxies)
				}
			}
		})
	}
	// The keys the chart maps are exactly the variables internal/config reads.
	known := configKeys(t)
	for key, v := range retentionVars {
		if !known[v] {
			t.Errorf("retention.%s sets %s, which internal/config does not read", key, v)
		}
	}
	for k := range known {
		if strings.HasPrefix(k, "PAYFLOW_RETENTION_") && !slices.Contains(slices.Collect(maps.Values(retentionVars)), k) {
			t.Errorf("internal/config reads %s, which no retention key sets", k)
		}
	}
}

// A typo in a retention key or a value that is not a duration fails the render: the
// worker would otherwise run with the default, or not start.
func TestRetentionRefused(t *testing.T) {
	for _, tc := range []struct {
		set, want string
	}{
		{"retention.event=720h", "retention.event: no such kind"},
		{"retention.events=90d", `retention.events: "90d" is not a duration`},
		{"retention.nonces=-1h", `retention.nonces: "-1h" is not a duration`},
		{"retention.audit=forever", `retention.audit: "forever" is not a duration`},
	} {
		t.Run(tc.set, func(t *testing.T) {
			_, err := helmTemplate(t, "--set", tc.set)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("helm template --set %s: %v, want an error naming %q", tc.set, err, tc.want)
			}
		})
	}
}
