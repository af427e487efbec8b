package config

import "testing"

func TestTemporalTLSSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalTLS.Enabled() {
		t.Fatalf("TLS on by default: %+v", c.TemporalTLS)
	}
	c, err = load(env(map[string]string{
		"PAYFLOW_TEMPORAL_TLS_CERT":        "/etc/payflow/temporal-tls/tls.crt",
		"PAYFLOW_TEMPORAL_TLS_KEY":         "/etc/payflow/temporal-tls/tls.key",
		"PAYFLOW_TEMPORAL_TLS_CA":          "/etc/payflow/temporal-tls/ca.crt",
		"PAYFLOW_TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := TemporalTLS{
		CertFile: "/etc/payflow/temporal-tls/tls.crt", KeyFile: "/etc/payflow/temporal-tls/tls.key",
		CAFile: "/etc/payflow/temporal-tls/ca.crt", ServerName: "temporal.internal",
	}
	if c.TemporalTLS != want || !c.TemporalTLS.Enabled() {
		t.Fatalf("got %+v, want %+v", c.TemporalTLS, want)
	}
	for _, only := range []string{"PAYFLOW_TEMPORAL_TLS_CERT", "PAYFLOW_TEMPORAL_TLS_KEY"} {
		if _, err := load(env(map[string]string{only: "/x"})); err == nil {
			t.Errorf("%s without its pair accepted", only)
		}
	}
	c, err = load(env(map[string]string{"PAYFLOW_TEMPORAL_TLS_CA": "/ca.crt"}))
	if err != nil || !c.TemporalTLS.Enabled() {
		t.Fatalf("CA alone (server-verified TLS, no client certificate): %+v, %v", c.TemporalTLS, err)
	}
}
