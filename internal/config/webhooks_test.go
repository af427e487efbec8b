package config

import (
	"testing"
	"time"
)

func TestWebhookSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string {
		return func(k string) string { return kv[k] }
	}
	c, err := load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !c.WebhookAllowPrivate || c.WebhookTimeout != 10*time.Second {
		t.Fatalf("defaults: allow private %v, timeout %s; want true (local runs and tests), 10s", c.WebhookAllowPrivate, c.WebhookTimeout)
	}
	c, err = load(env(map[string]string{"PAYFLOW_WEBHOOK_ALLOW_PRIVATE": "false", "PAYFLOW_WEBHOOK_TIMEOUT": "5s"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookAllowPrivate || c.WebhookTimeout != 5*time.Second {
		t.Fatalf("production settings not read: %v %s", c.WebhookAllowPrivate, c.WebhookTimeout)
	}
	for _, bad := range []map[string]string{
		{"PAYFLOW_WEBHOOK_ALLOW_PRIVATE": "nope"},
		{"PAYFLOW_WEBHOOK_TIMEOUT": "0s"},
		{"PAYFLOW_WEBHOOK_TIMEOUT": "2m"},
	} {
		if _, err := load(env(bad)); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
