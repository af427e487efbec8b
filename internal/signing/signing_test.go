package signing

import (
	"errors"
	"testing"
	"time"
)

// The signing vectors of docs/api.md: a client library in any language must reproduce them.
func TestRequestVectors(t *testing.T) {
	const secret, ts, nonce = "demo_secret_change_me", "1767225600", "n0nce_0123456789ab"
	tests := []struct {
		name, method, target, body, want string
	}{
		{"post payment", "POST", "/v1/payments", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`,
			"af2bdf83ed9ffd44bb2cc2251db1859987ba90867734f5fac90736bb62b43c41"},
		{"get list", "GET", "/v1/payments?limit=2", "",
			"0cb39952580e2b358a7af41dbc389458303b347eaef45f25a7b58bf9bbe69596"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SignRequest(secret, tc.method, tc.target, ts, nonce, []byte(tc.body))
			if got != tc.want {
				t.Fatalf("signature = %s, want %s", got, tc.want)
			}
			now := time.Unix(1767225600, 0)
			r := Request{Method: tc.method, PathAndQuery: tc.target, Timestamp: ts, Nonce: nonce, Signature: tc.want, Body: []byte(tc.body)}
			if err := VerifyRequest(r, []string{"old", secret}, now, 300*time.Second); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

// The webhook vector of docs/api.md: a webhook is signed with the merchant's webhook
// secret (the demo merchant's whsec_demo_change_me), not its API secret.
func TestWebhookVector(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"payment.succeeded"}`)
	got := SignWebhook("whsec_demo_change_me", 1767225600, body)
	want := "t=1767225600,v1=8b25789bc25b193f6b477b0d98970c26f1df316157e3163681a43dd455dce26a"
	if got != want {
		t.Fatalf("webhook header = %s, want %s", got, want)
	}
	if err := VerifyWebhook("whsec_demo_change_me", got, body, time.Unix(1767225600, 0), 5*time.Minute); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := VerifyWebhook("demo_secret_change_me", got, body, time.Unix(1767225600, 0), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("the API secret: %v", err)
	}
	if err := VerifyWebhook("whsec_demo_change_me", got, body, time.Unix(1767225600+3600, 0), 5*time.Minute); !errors.Is(err, ErrStale) {
		t.Fatalf("stale: %v", err)
	}
}

// During a webhook secret rotation the header carries one v1= pair per secret, the
// newest first; a receiver holding either one verifies it.
func TestWebhookTwoSecrets(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"payment.succeeded"}`)
	got := SignWebhookAll([]string{"whsec_new", "whsec_demo_change_me"}, 1767225600, body)
	want := "t=1767225600,v1=" + webhookMAC("whsec_new", 1767225600, body) +
		",v1=8b25789bc25b193f6b477b0d98970c26f1df316157e3163681a43dd455dce26a"
	if got != want {
		t.Fatalf("webhook header = %s, want %s", got, want)
	}
	now := time.Unix(1767225600, 0)
	for _, secret := range []string{"whsec_new", "whsec_demo_change_me"} {
		if err := VerifyWebhook(secret, got, body, now, 5*time.Minute); err != nil {
			t.Fatalf("verify with %s: %v", secret, err)
		}
	}
	if err := VerifyWebhook("whsec_other", got, body, now, 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another secret: %v", err)
	}
}

func TestVerifyRequestRefusals(t *testing.T) {
	const secret = "s3cret"
	now := time.Unix(1_800_000_000, 0)
	good := func() Request {
		r := Request{Method: "POST", PathAndQuery: "/v1/payments", Timestamp: "1800000000", Nonce: "abcdefghijklmnop", Body: []byte(`{}`)}
		r.Signature = SignRequest(secret, r.Method, r.PathAndQuery, r.Timestamp, r.Nonce, r.Body)
		return r
	}
	tests := []struct {
		name   string
		mutate func(*Request)
		want   error
	}{
		{"valid", func(*Request) {}, nil},
		{"no signature", func(r *Request) { r.Signature = "" }, ErrMissingHeader},
		{"no nonce", func(r *Request) { r.Nonce = "" }, ErrMissingHeader},
		{"stale past", func(r *Request) { r.Timestamp = "1799999699" }, ErrStale},
		{"stale future", func(r *Request) { r.Timestamp = "1800000301" }, ErrStale},
		{"timestamp with sign", func(r *Request) { r.Timestamp = "+1800000000" }, ErrBadTimestamp},
		{"timestamp in ms", func(r *Request) { r.Timestamp = "1800000000000" }, ErrBadTimestamp},
		{"short nonce", func(r *Request) { r.Nonce = "short" }, ErrBadNonce},
		{"nonce bad char", func(r *Request) { r.Nonce = "abcdefghijklmno!" }, ErrBadNonce},
		{"body changed", func(r *Request) { r.Body = []byte(`{"a":1}`) }, ErrBadSignature},
		{"path changed", func(r *Request) { r.PathAndQuery = "/v1/payments?x=1" }, ErrBadSignature},
		{"method changed", func(r *Request) { r.Method = "PUT" }, ErrBadSignature},
		{"uppercase hex", func(r *Request) { r.Signature = upper(r.Signature) }, ErrBadSignature},
		{"not hex", func(r *Request) { r.Signature = "zz" }, ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.mutate(&r)
			err := VerifyRequest(r, []string{secret}, now, 300*time.Second)
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	r := good()
	if err := VerifyRequest(r, []string{"wrong"}, now, 300*time.Second); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 32
		}
	}
	return string(b)
}

// FuzzVerifyRequest: no input makes the verifier panic or accept a request that was
// not signed with the secret.
func FuzzVerifyRequest(f *testing.F) {
	f.Add("POST", "/v1/payments", "1767225600", "n0nce_0123456789ab", "af2bdf83ed9ffd44bb2cc2251db1859987ba90867734f5fac90736bb62b43c41", []byte(`{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`))
	f.Add("GET", "/v1/payments?limit=2", "1767225600", "n0nce_0123456789ab", "0cb39952580e2b358a7af41dbc389458303b347eaef45f25a7b58bf9bbe69596", []byte(nil))
	f.Add("GET", "/", "-1", "", "", []byte("x"))
	f.Fuzz(func(t *testing.T, method, target, ts, nonce, sig string, body []byte) {
		now := time.Unix(1767225600, 0)
		r := Request{Method: method, PathAndQuery: target, Timestamp: ts, Nonce: nonce, Signature: sig, Body: body}
		err := VerifyRequest(r, []string{"demo_secret_change_me"}, now, 300*time.Second)
		if err == nil && sig != SignRequest("demo_secret_change_me", method, target, ts, nonce, body) {
			t.Fatalf("accepted a signature that is not the secret's: %q", sig)
		}
	})
}
