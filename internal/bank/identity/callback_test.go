package identity

import (
	"errors"
	"testing"
	"time"

	"github.com/payflow/payflow/banksim"
)

const secret = "bureau_test_secret"

func TestParseBureauCallback(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	good := []byte(`{"type":"credit_query.completed","request_id":"cq_1","status":"ready","event_id":"cbe_1"}`)
	sign := func(body []byte, at time.Time) string { return banksim.SignCallback(secret, at.Unix(), body) }
	tests := []struct {
		name    string
		secret  string
		header  string
		body    []byte
		wantID  string
		status  string
		wantErr error
	}{
		{"ready", secret, sign(good, now), good, "cq_1", ReportReady, nil},
		{"no record", secret, sign([]byte(`{"type":"credit_query.completed","request_id":"cq_2","status":"no_record"}`), now),
			[]byte(`{"type":"credit_query.completed","request_id":"cq_2","status":"no_record"}`), "cq_2", ReportNoRecord, nil},
		{"signed four minutes ago", secret, sign(good, now.Add(-4*time.Minute)), good, "cq_1", ReportReady, nil},
		{"wrong secret", "other", sign(good, now), good, "", "", ErrSignature},
		{"no secret configured", "", sign(good, now), good, "", "", ErrSignature},
		{"stale", secret, sign(good, now.Add(-6*time.Minute)), good, "", "", ErrSignature},
		{"no header", secret, "", good, "", "", ErrSignature},
		{"body changed", secret, sign(good, now), []byte(`{"type":"credit_query.completed","request_id":"cq_9","status":"ready"}`), "", "", ErrSignature},
		{"not json", secret, sign([]byte("nope"), now), []byte("nope"), "", "", ErrUnreadable},
		{"a transfer callback", secret, sign([]byte(`{"reference":"pay_1","status":"succeeded"}`), now),
			[]byte(`{"reference":"pay_1","status":"succeeded"}`), "", "", ErrUnreadable},
		{"processing", secret, sign([]byte(`{"type":"credit_query.completed","request_id":"cq_3","status":"processing"}`), now),
			[]byte(`{"type":"credit_query.completed","request_id":"cq_3","status":"processing"}`), "", "", ErrUnreadable},
		{"no request id", secret, sign([]byte(`{"type":"credit_query.completed","status":"ready"}`), now),
			[]byte(`{"type":"credit_query.completed","status":"ready"}`), "", "", ErrUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, status, err := parseBureauCallback(tt.secret, tt.header, tt.body, now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if id != tt.wantID || status != tt.status {
				t.Fatalf("got %q %q, want %q %q", id, status, tt.wantID, tt.status)
			}
		})
	}
	// The exported form checks against the current time.
	if _, _, err := ParseBureauCallback(secret, sign(good, time.Now()), good); err != nil {
		t.Fatalf("ParseBureauCallback: %v", err)
	}
}

// FuzzParseBureauCallback: any header and body either fail with one of the two
// errors or, only when correctly signed, give a request id and a final status.
func FuzzParseBureauCallback(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good := []byte(`{"type":"credit_query.completed","request_id":"cq_1","status":"ready"}`)
	f.Add(banksim.SignCallback(secret, now.Unix(), good), good)
	f.Add("t=1800000000,v1=00", good)
	f.Add("t=,v1=", []byte(`{}`))
	f.Add("", []byte(nil))
	f.Add("t=1800000000,v1=zz,v1=", []byte(`{"type":1}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		for _, h := range []string{header, banksim.SignCallback(secret, now.Unix(), body)} {
			id, status, err := parseBureauCallback(secret, h, body, now)
			if err != nil {
				if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrUnreadable) {
					t.Fatalf("unexpected error %v", err)
				}
				if id != "" || status != "" {
					t.Fatalf("an error with a result %q %q", id, status)
				}
				continue
			}
			if banksim.VerifyCallback(secret, h, body, now, bureauCallbackTolerance) != nil {
				t.Fatalf("accepted a header the bank's own check refuses: %q", h)
			}
			if id == "" || (status != ReportReady && status != ReportNoRecord) {
				t.Fatalf("accepted %q %q", id, status)
			}
		}
	})
}
