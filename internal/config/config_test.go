package config

import (
	"testing"
	"time"
)

func TestReconciliationSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconAt != 2*time.Hour || len(c.ReconChannels) != 1 || c.ReconChannels[0] != "banksim" {
		t.Fatalf("defaults: at %s, channels %v", c.ReconAt, c.ReconChannels)
	}
	c, err = load(env(map[string]string{"PAYFLOW_RECON_AT": "23:45", "PAYFLOW_RECON_CHANNELS": "banksim, stripe"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconAt != 23*time.Hour+45*time.Minute || len(c.ReconChannels) != 2 || c.ReconChannels[1] != "stripe" {
		t.Fatalf("at %s, channels %v", c.ReconAt, c.ReconChannels)
	}
	for _, bad := range []string{"2", "24:00", "02:60", "2am", "02:00:00"} {
		if _, err := load(env(map[string]string{"PAYFLOW_RECON_AT": bad})); err == nil {
			t.Errorf("PAYFLOW_RECON_AT=%q accepted", bad)
		}
	}
}
