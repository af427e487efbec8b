package banksim

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCallbackSignature(t *testing.T) {
	body := []byte(`{"reference":"pay_1","status":"succeeded","event_id":"cbe_1"}`)
	now := time.Unix(1_790_000_000, 0)
	good := SignCallback("secret", now.Unix(), body)
	if !strings.HasPrefix(good, "t=1790000000,v1=") || len(good) != len("t=1790000000,v1=")+64 {
		t.Fatalf("header %q", good)
	}
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"round trip", "secret", good, body, now, nil},
		{"within tolerance", "secret", good, body, now.Add(4 * time.Minute), nil},
		{"clock slightly behind", "secret", good, body, now.Add(-4 * time.Minute), nil},
		{"wrong secret", "other", good, body, now, ErrSignatureMismatch},
		{"tampered body", "secret", good, []byte(strings.Replace(string(body), "pay_1", "pay_2", 1)), now, ErrSignatureMismatch},
		{"tampered time", "secret", strings.Replace(good, "t=1790000000", "t=1790000001", 1), body, now, ErrSignatureMismatch},
		{"stale", "secret", good, body, now.Add(6 * time.Minute), ErrSignatureStale},
		{"from the future", "secret", good, body, now.Add(-6 * time.Minute), ErrSignatureStale},
		{"empty header", "secret", "", body, now, ErrSignatureMalformed},
		{"no v1", "secret", "t=1790000000", body, now, ErrSignatureMalformed},
		{"no t", "secret", good[strings.Index(good, "v1="):], body, now, ErrSignatureMalformed},
		{"v1 not hex", "secret", "t=1790000000,v1=zz", body, now, ErrSignatureMalformed},
		{"extra v1 signatures", "secret", good + ",v1=00", body, now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyCallback(tt.secret, tt.header, tt.body, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}
