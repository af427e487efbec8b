package config

import (
	"strings"
	"testing"
)

// productionEnv is a production configuration with real secrets: every role starts.
func productionEnv() map[string]string {
	return map[string]string{
		"PAYFLOW_ENV":                     "production",
		"PAYFLOW_DB_DSN":                  "mysql://payflow:pw@tcp(db:3306)/payflow",
		"PAYFLOW_SECRETS_KEY":             strings.Repeat("ab", 32),
		"PAYFLOW_PAYLOAD_KEYS":            "prod-1:" + strings.Repeat("cd", 32),
		"PAYFLOW_OPS_TOKENS":              "0123456789abcdef0123456789abcdef",
		"PAYFLOW_CHANNELS":                "banksim,stripe",
		"PAYFLOW_BANKSIM_URL":             "http://banksim.staging.svc:8090",
		"PAYFLOW_BANKSIM_CALLBACK_SECRET": "a-real-callback-secret",
		"PAYFLOW_STRIPE_API_KEY":          "sk_live_realkey",
	}
}

func loadWith(t *testing.T, env map[string]string) Config {
	t.Helper()
	c, err := load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return c
}

var allRoles = []Role{RoleAPI, RoleWorker, RoleMigrate, RoleBanksim}

func TestProductionStartsWithRealSecrets(t *testing.T) {
	c := loadWith(t, productionEnv())
	for _, r := range allRoles {
		if err := c.CheckProduction(r, false); err != nil {
			t.Errorf("%s: %v", r, err)
		}
	}
	if c.DemoSeed || c.WebhookAllowPrivate {
		t.Errorf("production defaults: demo seed %v, private webhooks %v; want both off", c.DemoSeed, c.WebhookAllowPrivate)
	}
}

// Each public default left in makes every role that uses it refuse, naming the
// variable; the roles that do not read it still start.
func TestProductionRefusesEachDefault(t *testing.T) {
	cases := []struct {
		name    string
		change  func(env map[string]string)
		seed    bool
		names   string
		refuses []Role
	}{
		{"demo ops token", func(e map[string]string) { e["PAYFLOW_OPS_TOKENS"] = "ops-demo-token" }, false,
			"PAYFLOW_OPS_TOKENS", []Role{RoleAPI}},
		{"ops token unset", func(e map[string]string) { delete(e, "PAYFLOW_OPS_TOKENS") }, false,
			"PAYFLOW_OPS_TOKENS", []Role{RoleAPI}},
		{"short ops token beside a good one", func(e map[string]string) { e["PAYFLOW_OPS_TOKENS"] += ",short-token" }, false,
			"PAYFLOW_OPS_TOKENS: token 2", []Role{RoleAPI}},
		{"secrets key unset", func(e map[string]string) { delete(e, "PAYFLOW_SECRETS_KEY") }, false,
			"PAYFLOW_SECRETS_KEY", []Role{RoleAPI, RoleWorker, RoleMigrate}},
		{"local secrets key given explicitly", func(e map[string]string) { e["PAYFLOW_SECRETS_KEY"] = localSecretsKey }, false,
			"PAYFLOW_SECRETS_KEY", []Role{RoleAPI, RoleWorker, RoleMigrate}},
		{"payload keys unset", func(e map[string]string) { delete(e, "PAYFLOW_PAYLOAD_KEYS") }, false,
			"PAYFLOW_PAYLOAD_KEYS", []Role{RoleAPI, RoleWorker}},
		{"local payload key kept for decryption", func(e map[string]string) { e["PAYFLOW_PAYLOAD_KEYS"] += "," + localPayloadKeys }, false,
			"PAYFLOW_PAYLOAD_KEYS", []Role{RoleAPI, RoleWorker}},
		{"banksim callback secret", func(e map[string]string) { e["PAYFLOW_BANKSIM_CALLBACK_SECRET"] = "banksim_callback_secret" }, false,
			"PAYFLOW_BANKSIM_CALLBACK_SECRET", []Role{RoleAPI, RoleWorker, RoleBanksim}},
		{"banksim without its URL", func(e map[string]string) { delete(e, "PAYFLOW_BANKSIM_URL") }, false,
			"PAYFLOW_BANKSIM_URL", []Role{RoleAPI, RoleWorker}},
		{"wallet providers with their own secrets", func(e map[string]string) {
			e["PAYFLOW_CHANNELS"] = "banksim,stripe,alipaysim,wxpaysim"
			e["PAYFLOW_ALIPAYSIM_NOTIFY_SECRET"] = "a-real-alipaysim-secret"
			e["PAYFLOW_WXPAYSIM_NOTIFY_SECRET"] = "a-real-wxpaysim-secret"
		}, false, "", nil},
		{"a wallet provider's public notify secret", func(e map[string]string) {
			e["PAYFLOW_CHANNELS"] = "banksim,stripe,alipaysim"
			e["PAYFLOW_ALIPAYSIM_NOTIFY_SECRET"] = "alipaysim_notify_secret"
		}, false, "PAYFLOW_ALIPAYSIM_NOTIFY_SECRET", []Role{RoleAPI, RoleWorker, RoleBanksim}},
		{"a wallet provider without the simulator's URL", func(e map[string]string) {
			e["PAYFLOW_CHANNELS"] = "stripe,wxpaysim"
			e["PAYFLOW_DEFAULT_CHANNEL"] = "stripe"
			e["PAYFLOW_WXPAYSIM_NOTIFY_SECRET"] = "a-real-wxpaysim-secret"
			delete(e, "PAYFLOW_BANKSIM_URL")
		}, false, "PAYFLOW_BANKSIM_URL", []Role{RoleAPI, RoleWorker}},
		{"stripe-mock's key", func(e map[string]string) { delete(e, "PAYFLOW_STRIPE_API_KEY") }, false,
			"PAYFLOW_STRIPE_API_KEY", []Role{RoleAPI, RoleWorker}},
		{"private webhooks", func(e map[string]string) { e["PAYFLOW_WEBHOOK_ALLOW_PRIVATE"] = "true" }, false,
			"PAYFLOW_WEBHOOK_ALLOW_PRIVATE", []Role{RoleAPI, RoleWorker}},
		{"demo merchant seeded", func(map[string]string) {}, true,
			"demo merchant", []Role{RoleAPI, RoleWorker, RoleMigrate, RoleBanksim}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := productionEnv()
			tc.change(env)
			c := loadWith(t, env)
			for _, r := range allRoles {
				err := c.CheckProduction(r, tc.seed)
				want := false
				for _, x := range tc.refuses {
					want = want || x == r
				}
				switch {
				case want && err == nil:
					t.Errorf("%s started; want it refused naming %s", r, tc.names)
				case want && !strings.Contains(err.Error(), tc.names):
					t.Errorf("%s refused without naming %s: %v", r, tc.names, err)
				case !want && err != nil:
					t.Errorf("%s refused though it does not use %s: %v", r, tc.names, err)
				}
			}
		})
	}
}

// Every offending variable is named in one answer, not one per attempt.
func TestProductionNamesEveryOffender(t *testing.T) {
	c := loadWith(t, map[string]string{"PAYFLOW_ENV": "production"})
	err := c.CheckProduction(RoleAPI, false)
	if err == nil {
		t.Fatal("the API started in production with every local default")
	}
	for _, v := range []string{"PAYFLOW_OPS_TOKENS", "PAYFLOW_SECRETS_KEY", "PAYFLOW_PAYLOAD_KEYS", "PAYFLOW_BANKSIM_CALLBACK_SECRET", "PAYFLOW_BANKSIM_URL", "PAYFLOW_STRIPE_API_KEY",
		"PAYFLOW_ALIPAYSIM_NOTIFY_SECRET", "PAYFLOW_WXPAYSIM_NOTIFY_SECRET"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("the refusal does not name %s:\n%v", v, err)
		}
	}
}

func TestLocalModeKeepsTodaysDefaults(t *testing.T) {
	c := loadWith(t, map[string]string{})
	if c.Env != EnvLocal || !c.DemoSeed || !c.WebhookAllowPrivate {
		t.Fatalf("local defaults changed: env %q, demo seed %v, private webhooks %v", c.Env, c.DemoSeed, c.WebhookAllowPrivate)
	}
	for _, r := range append(allRoles, RoleDev) {
		if err := c.CheckProduction(r, true); err != nil {
			t.Errorf("%s refused locally: %v", r, err)
		}
	}
}

func TestProductionRefusesTheLocalStackAndUnknownModes(t *testing.T) {
	if err := loadWith(t, productionEnv()).CheckProduction(RoleDev, false); err == nil {
		t.Error("payflow dev started in production")
	}
	for _, v := range []string{"prod", "Production", "staging"} {
		if _, err := load(func(k string) string { return map[string]string{"PAYFLOW_ENV": v}[k] }); err == nil || !strings.Contains(err.Error(), "PAYFLOW_ENV") {
			t.Errorf("PAYFLOW_ENV=%s: %v, want a refusal naming PAYFLOW_ENV", v, err)
		}
	}
}
