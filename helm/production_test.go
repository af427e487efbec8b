package helm_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/e2e"
	"github.com/payflow/payflow/internal/harness/testenv"
)

// realSecrets are what an operator puts in the chart's Secrets: nothing public.
func realSecrets(dsn string) map[string]string {
	random := func(n int) string {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}
	return map[string]string{
		"dsn":                     dsn,
		"secrets-key":             random(32),
		"payload-keys":            "prod-1:" + random(32),
		"ops-tokens":              random(24),
		"stripe-api-key":          "sk_live_" + random(12),
		"stripe-webhook-secret":   "whsec_" + random(16),
		"banksim-callback-secret": random(16),
	}
}

// TestProductionRenderStartsOnlyWithRealSecrets renders the chart with its production
// values (pointed at this machine's Temporal and MariaDB, on free ports) and runs the
// migration Job's, the API's and the worker's commands with exactly the environment
// the chart gives them, secrets resolved from the Secrets an operator would create.
// With real secrets all three start; with any one public default in a Secret or
// values, every process that is given it refuses to start and names it.
func TestProductionRenderStartsOnlyWithRealSecrets(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	binDir := os.Getenv("PAYFLOW_TEST_BIN_DIR")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The Temporal dev server's output is copied by a goroutine of its own until it
	// stops (deferred below, so before this runs); payflow's processes' by the test.
	var temporalLogs, logs bytes.Buffer
	defer func() {
		if t.Failed() {
			t.Logf("processes' output:\n%s%s", temporalLogs.String(), logs.String())
		}
	}()
	bin, err := e2e.Build(root, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := e2e.StartTemporal(ctx, binDir, "", &temporalLogs, "payflow-prod")
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Proc.Stop(10 * time.Second)
	dsn, drop, err := testenv.CreateMySQLDatabase("helmprod")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	apiPort, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	metricsPort, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// The production values, with this machine's Temporal (plain gRPC: the dev server
	// has no TLS) and free ports instead of 8080 and 9091.
	local := []string{"-f", prodValues,
		"--set", "temporal.address=" + tp.Addr, "--set", "temporal.tls.enabled=false",
		"--set", "api.port=" + strconv.Itoa(apiPort), "--set", "worker.metricsPort=" + strconv.Itoa(metricsPort)}
	secrets := realSecrets(dsn)

	t.Run("real secrets: all start", func(t *testing.T) {
		pods := render(t, local...).pods(t)
		migrate := process(t, pods["Job/"+name("migrate")], secrets)
		if out, err := migrate.run(ctx, bin, 2*time.Minute); err != nil {
			t.Fatalf("the migration Job's command failed: %v\n%s", err, out)
		}
		for _, p := range []struct {
			pod, url string
		}{
			{"Deployment/" + name("api"), fmt.Sprintf("http://127.0.0.1:%d/readyz", apiPort)},
			{"Deployment/" + name("worker"), fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)},
		} {
			if err := process(t, pods[p.pod], secrets).serves(ctx, bin, p.url, &logs); err != nil {
				t.Fatalf("%s did not start with real secrets: %v", p.pod, err)
			}
		}
	})

	// Each case leaves one public default in: a Secret's value or a values setting.
	// refuses are the processes that are given it (the worker serves no ops API and
	// gets no ops token; only the worker delivers webhooks; only the Job seeds).
	cases := []struct {
		name     string
		secret   string
		value    string
		set      []string
		variable string
		refuses  []string
	}{
		{name: "demo ops token", secret: "ops-tokens", value: "ops-demo-token", variable: "PAYFLOW_OPS_TOKENS", refuses: []string{"api"}},
		{name: "short ops token", secret: "ops-tokens", value: "0123456789abcdef", variable: "PAYFLOW_OPS_TOKENS", refuses: []string{"api"}},
		{name: "local secrets key", secret: "secrets-key", value: hex.EncodeToString([]byte("payflow-local-dev-secrets-key-32")), variable: "PAYFLOW_SECRETS_KEY", refuses: []string{"migrate", "api", "worker"}},
		{name: "local payload key", secret: "payload-keys", value: "local-1:" + hex.EncodeToString([]byte("payflow-local-payload-key-32byte")), variable: "PAYFLOW_PAYLOAD_KEYS", refuses: []string{"api", "worker"}},
		{name: "stripe-mock's key", secret: "stripe-api-key", value: "sk_test_123", variable: "PAYFLOW_STRIPE_API_KEY", refuses: []string{"api", "worker"}},
		{name: "banksim's local callback secret", secret: "banksim-callback-secret", value: "banksim_callback_secret", set: []string{"banksim.enabled=true"}, variable: "PAYFLOW_BANKSIM_CALLBACK_SECRET", refuses: []string{"api", "worker"}},
		{name: "private webhooks", set: []string{"config.webhookAllowPrivate=true"}, variable: "PAYFLOW_WEBHOOK_ALLOW_PRIVATE", refuses: []string{"worker"}},
		{name: "demo merchant seeded", set: []string{"migration.seedDemo=true"}, variable: "demo merchant", refuses: []string{"migrate"}},
	}
	roles := map[string]string{"migrate": "Job/" + name("migrate"), "api": "Deployment/" + name("api"), "worker": "Deployment/" + name("worker")}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{}, local...)
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			sec := realSecrets(dsn)
			if tc.secret != "" {
				sec[tc.secret] = tc.value
			}
			pods := render(t, args...).pods(t)
			for _, role := range tc.refuses {
				proc := process(t, pods[roles[role]], sec)
				out, err := proc.run(ctx, bin, 30*time.Second)
				if err == nil {
					t.Errorf("%s started (or finished) with %s left in; want a refusal\n%s", role, tc.name, out)
					continue
				}
				if !strings.Contains(out, "PAYFLOW_ENV=production refuses") || !strings.Contains(out, tc.variable) {
					t.Errorf("%s failed without refusing %s by name: %v\n%s", role, tc.variable, err, out)
				}
			}
		})
	}
}

// TestProductionRenderRefusesShortRetention: the worker, which purges, starts with
// the retention the chart gives it and refuses one under its kind's floor, naming
// it; the floor of nonces follows the API's signature tolerance, which the chart
// gives the worker too.
func TestProductionRenderRefusesShortRetention(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := e2e.Build(root, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The worker checks its configuration before it dials anything.
	base := []string{"-f", prodValues, "--set", "temporal.address=127.0.0.1:1", "--set", "temporal.tls.enabled=false"}
	secrets := realSecrets("payflow:payflow@tcp(127.0.0.1:1)/payflow?parseTime=true")
	for _, tc := range []struct {
		name, variable string
		set            []string
	}{
		{name: "events under a week", variable: "PAYFLOW_RETENTION_EVENTS is 24h0m0s: it must be at least 168h0m0s", set: []string{"retention.events=24h"}},
		{name: "nonces under twice the raised tolerance", variable: "PAYFLOW_RETENTION_NONCES is 15m0s: it must be at least 20m0s", set: []string{"config.signatureTolerance=600s", "retention.nonces=15m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{}, base...)
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			worker := process(t, render(t, args...).pods(t)["Deployment/"+name("worker")], secrets)
			out, err := worker.run(ctx, bin, 30*time.Second)
			if err == nil || !strings.Contains(out, tc.variable) {
				t.Errorf("the worker did not refuse with %q: %v\n%s", tc.variable, err, out)
			}
		})
	}
}

// proc is what a container would run: its arguments and its environment, each
// secretKeyRef resolved from the operator's Secrets (by key), plus PATH and HOME.
type proc struct {
	args []string
	env  []string
}

func process(t *testing.T, pod podTemplate, secrets map[string]string) proc {
	t.Helper()
	if len(pod.Spec.Containers) == 0 {
		t.Fatal("no such pod in the rendered chart")
	}
	c := pod.Spec.Containers[0]
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for _, e := range c.Env {
		switch {
		case e.Value != nil:
			v := *e.Value
			if e.Name == "PAYFLOW_DATA_DIR" {
				v = t.TempDir() // the pod's emptyDir
			}
			env = append(env, e.Name+"="+v)
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			v, ok := secrets[e.ValueFrom.SecretKeyRef.Key]
			if !ok {
				t.Fatalf("%s: no secret key %q", e.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			env = append(env, e.Name+"="+v)
		default:
			t.Fatalf("%s: neither a value nor a secretKeyRef", e.Name)
		}
	}
	return proc{args: c.Args, env: env}
}

// serves starts the command, waits until url answers 200, then stops it with SIGTERM
// (as Kubernetes does) and expects a clean exit.
func (p proc) serves(ctx context.Context, bin, url string, out *bytes.Buffer) error {
	cmd := exec.Command(bin, p.args...)
	cmd.Env = p.env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { fmt.Fprintf(out, "== payflow %s\n%s", strings.Join(p.args, " "), buf.String()) }()
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited before it answered %s: %v", url, err)
		case <-time.After(250 * time.Millisecond):
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("%s did not answer 200 within a minute", url)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("stopped with %v", err)
		}
		return nil
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		return fmt.Errorf("did not stop within a minute of SIGTERM")
	}
}

// run runs the command to its end (within limit) and returns its output; a process
// still running at the limit is an error.
func (p proc) run(ctx context.Context, bin string, limit time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, p.args...)
	cmd.Env = p.env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("still running after %s", limit)
	}
	return string(out), err
}
