package helm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secretRef returns the Secret and key a variable is read from ("" when it is not
// from a secretKeyRef, or absent).
func secretRef(c container, key string) (secret, secretKey string) {
	for _, e := range c.Env {
		if e.Name == key && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			return e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key
		}
	}
	return "", ""
}

// The chart names the channels it enables (PAYFLOW_CHANNELS) to the API and the
// worker, and sets each enabled channel's callback secret from the Secret: banksim's
// whenever the banksim channel is enabled, deployed by the chart or not (the binary
// refuses a named banksim without it, instead of verifying with its public default);
// Stripe's webhook secret in the API whenever stripe is enabled, unless its key is
// emptied. A channel that is not enabled gets no secret and no route.
func TestChannelsAndCallbackSecrets(t *testing.T) {
	const webhookKey, banksimKey = "stripe-webhook-secret", "banksim-callback-secret"
	tests := []struct {
		name       string
		args       []string
		channels   string
		banksim    bool   // PAYFLOW_BANKSIM_CALLBACK_SECRET in the API and the worker
		banksimURL string // PAYFLOW_BANKSIM_URL
		webhook    bool   // PAYFLOW_STRIPE_WEBHOOK_SECRET in the API
	}{
		{name: "default values", channels: "stripe", webhook: true},
		{name: "prod values", args: []string{"-f", prodValues}, channels: "stripe", webhook: true},
		{name: "the chart's simulator", args: []string{"--set", "banksim.enabled=true"}, channels: "banksim,stripe",
			banksim: true, banksimURL: "http://" + name("banksim") + "." + namespace + ".svc:8090", webhook: true},
		{name: "a simulator the chart does not deploy", args: []string{"--set", "banksim.url=http://banksim.staging.svc:8090"},
			channels: "banksim,stripe", banksim: true, banksimURL: "http://banksim.staging.svc:8090", webhook: true},
		{name: "banksim alone", args: []string{"--set", "stripe.enabled=false", "--set", "banksim.enabled=true", "--set", "config.defaultChannel=banksim"},
			channels: "banksim", banksim: true, banksimURL: "http://" + name("banksim") + "." + namespace + ".svc:8090"},
		{name: "stripe without webhooks", args: []string{"--set", "secrets.keys.stripeWebhookSecret="}, channels: "stripe"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pods := render(t, tc.args...).pods(t)
			for _, role := range []string{"api", "worker"} {
				ctr := pods["Deployment/"+name(role)].Spec.Containers[0]
				if got := envValue(ctr, "PAYFLOW_CHANNELS"); got != tc.channels {
					t.Errorf("%s: PAYFLOW_CHANNELS=%q, want %q", role, got, tc.channels)
				}
				secret, key := secretRef(ctr, "PAYFLOW_BANKSIM_CALLBACK_SECRET")
				switch {
				case tc.banksim && (secret == "" || key != banksimKey):
					t.Errorf("%s: the banksim channel is enabled, its callback secret is from %q/%q", role, secret, key)
				case !tc.banksim && hasEnv(ctr, "PAYFLOW_BANKSIM_CALLBACK_SECRET"):
					t.Errorf("%s: a banksim callback secret without the banksim channel", role)
				}
				if got := envValue(ctr, "PAYFLOW_BANKSIM_URL"); got != tc.banksimURL {
					t.Errorf("%s: PAYFLOW_BANKSIM_URL=%q, want %q", role, got, tc.banksimURL)
				}
				if hasEnv(ctr, "PAYFLOW_STRIPE_API_KEY") != strings.Contains(tc.channels, "stripe") {
					t.Errorf("%s: PAYFLOW_STRIPE_API_KEY set %v with channels %s", role, hasEnv(ctr, "PAYFLOW_STRIPE_API_KEY"), tc.channels)
				}
			}
			api := pods["Deployment/"+name("api")].Spec.Containers[0]
			secret, key := secretRef(api, "PAYFLOW_STRIPE_WEBHOOK_SECRET")
			switch {
			case tc.webhook && (secret == "" || key != webhookKey):
				t.Errorf("api: the Stripe webhook secret is from %q/%q", secret, key)
			case !tc.webhook && hasEnv(api, "PAYFLOW_STRIPE_WEBHOOK_SECRET"):
				t.Error("api: a Stripe webhook secret it was told not to use")
			}
			if hasEnv(pods["Deployment/"+name("worker")].Spec.Containers[0], "PAYFLOW_STRIPE_WEBHOOK_SECRET") {
				t.Error("the worker gets the Stripe webhook secret it never uses")
			}
		})
	}
}

// Rendering refuses a chart with no channel (the binary would fall back to its local
// channels and their public secrets) and a default channel that is not enabled.
func TestChannelsRefused(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no channel", []string{"--set", "stripe.enabled=false"}, "no bank channel is enabled"},
		{"a default channel that is not enabled", []string{"--set", "config.defaultChannel=banksim"}, "config.defaultChannel"},
		{"banksim without its secret's key", []string{"--set", "banksim.enabled=true", "--set", "secrets.keys.banksimCallbackSecret="}, "banksimCallbackSecret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := helmTemplate(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rendered: %v, want a failure mentioning %q", err, tc.want)
			}
		})
	}
}

// The binary's public local defaults (internal/config) never reach a cluster: the
// values files do not contain them and no rendered variable has one as its value.
func TestNoPublicDefaults(t *testing.T) {
	public := []string{
		"banksim_callback_secret", "sk_test_123", "ops-demo-token", "demo_secret_change_me",
		"payflow-local-dev-secrets-key-32", "payflow-local-payload-key-32byte",
	}
	for _, f := range []string{filepath.Join(chartDir, "values.yaml"), prodValues} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range public {
			if strings.Contains(string(b), p) {
				t.Errorf("%s contains the public default %q", f, p)
			}
		}
	}
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			for pod, p := range render(t, c.args...).pods(t) {
				for _, ctr := range p.Spec.Containers {
					for _, e := range ctr.Env {
						for _, pub := range public {
							if e.Value != nil && strings.Contains(*e.Value, pub) {
								t.Errorf("%s: %s is the public default %q", pod, e.Name, pub)
							}
						}
					}
				}
			}
		})
	}
}
