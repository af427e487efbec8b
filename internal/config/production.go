package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// PAYFLOW_ENV is local (the default: make run, tests) or production. In production a
// process refuses to start while anything it reads still holds a public local default
// (CheckProduction), and the two defaults that are only safe on a laptop flip:
// the demo merchant is not seeded and webhooks may not go to private addresses.
const (
	EnvLocal      = "local"
	EnvProduction = "production"
)

// Role is what a process does, which decides what of the configuration it uses and so
// what production checks of it. Its values are the CLI's subcommands.
type Role string

const (
	RoleAPI     Role = "api"
	RoleWorker  Role = "worker"
	RoleMigrate Role = "migrate"
	RoleBanksim Role = "banksim"
	RoleDev     Role = "dev"
)

// MinOpsTokenLength is the shortest ops token production accepts: 32 characters, as
// `openssl rand -hex 16` gives.
const MinOpsTokenLength = 32

// The public local defaults production refuses; each is in this repository, so anyone
// could use it.
const (
	localOpsToken        = "ops-demo-token"
	localBanksimCallback = "banksim_callback_secret"
	localStripeAPIKey    = "sk_test_123"
	localSecretsKeyRaw   = "payflow-local-dev-secrets-key-32"
	localPayloadKeyRaw   = "payflow-local-payload-key-32byte"
)

// Production reports PAYFLOW_ENV=production.
func (c Config) Production() bool { return c.Env == EnvProduction }

// CheckProduction returns nil outside production. In production it returns one error
// that names every variable role uses that still holds a public default, or a setting
// that is only safe locally; seedDemo is whether this process would seed the demo
// merchant (payflow migrate --seed-demo). Nothing is started before it passes.
func (c Config) CheckProduction(role Role, seedDemo bool) error {
	if !c.Production() {
		return nil
	}
	if role == RoleDev {
		return fmt.Errorf("PAYFLOW_ENV=production: payflow dev runs the local stack with its public defaults and never runs in production")
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	usesTemporal := role == RoleAPI || role == RoleWorker
	if role != RoleBanksim && bytes.Equal(c.SecretsKey, []byte(localSecretsKeyRaw)) {
		add("PAYFLOW_SECRETS_KEY is the public local key (set a random 32-byte key from your secret store)")
	}
	if usesTemporal {
		for _, k := range c.PayloadKeys {
			if bytes.Equal(k.Key, []byte(localPayloadKeyRaw)) {
				add("PAYFLOW_PAYLOAD_KEYS holds the public local key (id %q)", k.ID)
			}
		}
		if c.ChannelEnabled("banksim") {
			if c.BanksimCallbackSecret == localBanksimCallback {
				add("PAYFLOW_BANKSIM_CALLBACK_SECRET is the public local secret")
			}
			if !c.banksimURLSet {
				add("PAYFLOW_BANKSIM_URL is not set (the banksim channel is enabled; name the simulator's address explicitly)")
			}
		}
		for _, p := range WalletChannels {
			if !c.ChannelEnabled(p) {
				continue
			}
			if c.WalletNotifySecrets[p] == localWalletNotifySecret(p) {
				add("%s is the public local secret", WalletNotifySecretVar(p))
			}
			if !c.banksimURLSet {
				add("PAYFLOW_BANKSIM_URL is not set (the %s channel is enabled and the simulator serves it; name its address explicitly)", p)
			}
		}
		if c.ChannelEnabled("stripe") && c.StripeAPIKey == localStripeAPIKey {
			add("PAYFLOW_STRIPE_API_KEY is stripe-mock's test key")
		}
		if c.WebhookAllowPrivate {
			add("PAYFLOW_WEBHOOK_ALLOW_PRIVATE=true lets merchants' webhooks reach private addresses")
		}
	}
	if role == RoleBanksim && c.BanksimCallbackSecret == localBanksimCallback {
		add("PAYFLOW_BANKSIM_CALLBACK_SECRET is the public local secret")
	}
	if role == RoleBanksim {
		// The simulator signs the notifications of the providers payflow takes.
		for _, p := range WalletChannels {
			if c.ChannelEnabled(p) && c.WalletNotifySecrets[p] == localWalletNotifySecret(p) {
				add("%s is the public local secret", WalletNotifySecretVar(p))
			}
		}
	}
	if role == RoleAPI {
		for i, t := range c.OpsTokens {
			switch {
			case t == localOpsToken:
				add("PAYFLOW_OPS_TOKENS: token %d is the public demo token", i+1)
			case len(t) < MinOpsTokenLength:
				add("PAYFLOW_OPS_TOKENS: token %d is shorter than %d characters", i+1, MinOpsTokenLength)
			}
		}
	}
	if seedDemo {
		add("the demo merchant would be seeded (--seed-demo), with a secret anyone can read")
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return fmt.Errorf("PAYFLOW_ENV=production refuses to start %s with public or local-only settings:\n  - %s",
		role, strings.Join(problems, "\n  - "))
}
