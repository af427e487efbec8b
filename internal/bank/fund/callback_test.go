package fund

import (
	"errors"
	"testing"
	"time"

	"github.com/payflow/payflow/banksim"
)

const secret = "fund_test_secret"

func TestParseCallback(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	sign := func(body string, at time.Time) string { return banksim.SignCallback(secret, at.Unix(), []byte(body)) }
	confirmed := `{"type":"fund_order.confirmed","event_id":"cbe_1","order":{"order_id":"fo_1","kind":"subscription",` +
		`"product_id":"prd_bond","status":"confirmed","trade_date":"2026-12-04","nav":10234,"shares":97127,"amount":100000,"fee":600,` +
		`"confirmed_at":"2026-12-07T01:00:00Z","paid_at":null,"reason":""}}`
	rejected := `{"type":"fund_order.rejected","event_id":"cbe_2","order":{"order_id":"fo_2","kind":"redemption","status":"rejected","reason":"insufficient_shares"}}`
	tests := []struct {
		name, secret, header, body string
		wantErr                    error
		wantID                     string
	}{
		{"confirmed", secret, sign(confirmed, now), confirmed, nil, "fo_1"},
		{"rejected", secret, sign(rejected, now), rejected, nil, "fo_2"},
		{"signed four minutes ago", secret, sign(confirmed, now.Add(-4*time.Minute)), confirmed, nil, "fo_1"},
		{"stale", secret, sign(confirmed, now.Add(-6*time.Minute)), confirmed, ErrSignature, ""},
		{"wrong secret", "other", sign(confirmed, now), confirmed, ErrSignature, ""},
		{"no secret", "", sign(confirmed, now), confirmed, ErrSignature, ""},
		{"no header", secret, "", confirmed, ErrSignature, ""},
		{"body changed", secret, sign(confirmed, now), rejected, ErrSignature, ""},
		{"not json", secret, sign("nope", now), "nope", ErrUnreadable, ""},
		{"a float NAV", secret, sign(`{"type":"fund_order.confirmed","event_id":"e","order":{"order_id":"fo","kind":"subscription","status":"confirmed","nav":1.0234}}`, now),
			`{"type":"fund_order.confirmed","event_id":"e","order":{"order_id":"fo","kind":"subscription","status":"confirmed","nav":1.0234}}`, ErrUnreadable, ""},
		{"confirmed without a NAV", secret, sign(`{"type":"fund_order.confirmed","event_id":"e","order":{"order_id":"fo","kind":"subscription","status":"confirmed"}}`, now),
			`{"type":"fund_order.confirmed","event_id":"e","order":{"order_id":"fo","kind":"subscription","status":"confirmed"}}`, ErrUnreadable, ""},
		{"type and status disagree", secret, sign(`{"type":"fund_order.paid","event_id":"e","order":{"order_id":"fo","kind":"redemption","status":"confirmed","nav":1}}`, now),
			`{"type":"fund_order.paid","event_id":"e","order":{"order_id":"fo","kind":"redemption","status":"confirmed","nav":1}}`, ErrUnreadable, ""},
		{"a bank transfer callback", secret, sign(`{"reference":"pay_1","status":"succeeded","event_id":"e"}`, now),
			`{"reference":"pay_1","status":"succeeded","event_id":"e"}`, ErrUnreadable, ""},
		{"no event id", secret, sign(`{"type":"fund_order.rejected","order":{"order_id":"fo","kind":"redemption","status":"rejected"}}`, now),
			`{"type":"fund_order.rejected","order":{"order_id":"fo","kind":"redemption","status":"rejected"}}`, ErrUnreadable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb, err := parseCallback(tt.secret, tt.header, []byte(tt.body), now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if cb.Order.OrderID != tt.wantID {
				t.Fatalf("order %q, want %q", cb.Order.OrderID, tt.wantID)
			}
		})
	}
	cb, err := parseCallback(secret, sign(confirmed, now), []byte(confirmed), now)
	if err != nil || cb.Order.NAV != 10234 || cb.Order.Shares != 97127 || cb.Order.Fee != 600 || cb.EventID != "cbe_1" {
		t.Fatalf("%+v %v", cb, err)
	}
	if _, err := ParseCallback(secret, sign(confirmed, time.Now()), []byte(confirmed)); err != nil {
		t.Fatalf("ParseCallback: %v", err)
	}
}

// FuzzParseCallback: any header and body either fail with one of the two
// errors and no callback or, only when correctly signed, give a callback whose
// type and status agree.
func FuzzParseCallback(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	good := []byte(`{"type":"fund_order.paid","event_id":"cbe_1","order":{"order_id":"fo_1","kind":"redemption","status":"paid","nav":10000,"shares":1,"amount":1}}`)
	f.Add(banksim.SignCallback(secret, now.Unix(), good), good)
	f.Add("t=1800000000,v1=00", good)
	f.Add("t=,v1=", []byte(`{}`))
	f.Add("", []byte(nil))
	f.Add("t=1800000000,v1=zz", []byte(`{"type":"fund_order.confirmed","order":{"nav":1e3}}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		for _, h := range []string{header, banksim.SignCallback(secret, now.Unix(), body)} {
			cb, err := parseCallback(secret, h, body, now)
			if err != nil {
				if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrUnreadable) {
					t.Fatalf("unexpected error %v", err)
				}
				if cb != (Callback{}) {
					t.Fatalf("an error with a callback %+v", cb)
				}
				continue
			}
			if banksim.VerifyCallback(secret, h, body, now, callbackTolerance) != nil {
				t.Fatalf("accepted a header the bank's own check refuses: %q", h)
			}
			if cb.EventID == "" || cb.Order.OrderID == "" || wantStatus[cb.Type] != cb.Order.Status {
				t.Fatalf("accepted %+v", cb)
			}
		}
	})
}
