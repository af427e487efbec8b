package banksim

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func bind(id, card, name, idNumber, phone string) map[string]any {
	return map[string]any{"request_id": id, "card_number": card, "name": name, "id_number": idNumber, "phone": phone}
}

// binding sends a card binding request that must answer 200.
func (e *testEnv) binding(method, path string, body any) BindingAnswer {
	e.t.Helper()
	code, raw := e.do(method, path, body)
	if code != http.StatusOK {
		e.t.Fatalf("%s %s: %d %s", method, path, code, raw)
	}
	return decodeAs[BindingAnswer](e.t, raw)
}

func (e *testEnv) confirm(id, otp string) BindingAnswer {
	e.t.Helper()
	return e.binding(http.MethodPost, "/v1/card_bindings/"+id+"/confirm", map[string]any{"otp": otp})
}

// sms is the last code that arrived at phone; it fails the test if none did.
func (e *testEnv) sms(phone string) string {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/sim/sms?phone="+phone, nil)
	if code != http.StatusOK {
		e.t.Fatalf("sms: %d %s", code, raw)
	}
	a := decodeAs[smsAnswer](e.t, raw)
	if a.Phone != phone || len(a.OTP) != 6 || a.SentAt.IsZero() {
		e.t.Fatalf("sms answer %s", raw)
	}
	return a.OTP
}

// wrongOTP is a six-digit code that is not otp.
func wrongOTP(otp string) string {
	if otp == "000000" {
		return "111111"
	}
	return "000000"
}

func TestBindingFailures(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		name       string
		body       map[string]any
		reason     string
		mismatched []string
	}{
		{"wrong phone", bind("b1", CardDebit, "张三", zhangID, liPhone), ReasonVerificationFailed, []string{"phone"}},
		{"wrong name and id", bind("b2", CardCredit, "张三", zhangID, liPhone), ReasonVerificationFailed, []string{"name", "id_number"}},
		{"unknown card", bind("b3", "6222029999999999999", "张三", zhangID, zhangPhone), ReasonVerificationFailed, []string{"card_number"}},
		{"unsupported card", bind("b4", CardUnsupported, "张三", zhangID, zhangPhone), ReasonUnsupportedCard, []string{"card_number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.body["request_id"].(string)
			got := e.binding(http.MethodPost, "/v1/card_bindings", tt.body)
			want := BindingAnswer{RequestID: id, Status: BindingFailed, Reason: tt.reason, MismatchedFields: tt.mismatched}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			if q := e.binding(http.MethodGet, "/v1/card_bindings/"+id, nil); !reflect.DeepEqual(q, want) {
				t.Fatalf("query: %+v", q)
			}
			// A failed binding takes no code.
			if c := e.confirm(id, "123456"); c.Status != BindingFailed {
				t.Fatalf("confirm of a failed binding: %+v", c)
			}
			if n := e.executions(id); n != 1 {
				t.Fatalf("executions = %d", n)
			}
		})
	}
	if code, _ := e.do(http.MethodGet, "/sim/sms?phone="+liPhone, nil); code != http.StatusNotFound {
		t.Fatalf("a failed binding sent a code: %d", code)
	}
	if code, _ := e.do(http.MethodPost, "/v1/card_bindings", bind("b5", CardDebit, "张三", zhangID, "")); code != http.StatusBadRequest {
		t.Fatalf("three elements: %d, want 400", code)
	}
	if code, _ := e.do(http.MethodGet, "/v1/card_bindings/never", nil); code != http.StatusNotFound {
		t.Fatalf("unknown binding: %d, want 404", code)
	}
}

// TestBindingAgreementIsAnInstrument binds a card, then charges and pays out
// to its agreement until it is removed.
func TestBindingAgreementIsAnInstrument(t *testing.T) {
	e := newEnv(t, Config{})
	started := e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_1", CardDebit, "张三", zhangID, zhangPhone))
	if started.Status != BindingOTPSent || started.OTPExpiresAt == nil ||
		started.OTPExpiresAt.Sub(time.Now()) > otpTTL || started.OTPExpiresAt.Sub(time.Now()) < otpTTL-time.Minute {
		t.Fatalf("start: %+v", started)
	}
	otp := e.sms(zhangPhone)
	// A repeat answers the state and sends no other code.
	if again := e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_1", CardDebit, "张三", zhangID, zhangPhone)); again.Status != BindingOTPSent {
		t.Fatalf("repeat: %+v", again)
	}
	if e.sms(zhangPhone) != otp {
		t.Fatal("a repeated start sent another code")
	}
	if n := e.executions("bind_1"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
	if c := e.confirm("bind_1", wrongOTP(otp)); !reflect.DeepEqual(c, BindingAnswer{RequestID: "bind_1", Status: OTPIncorrect}) {
		t.Fatalf("wrong code: %+v", c)
	}
	active := e.confirm("bind_1", otp)
	wantCard := &CardInfo{Bank: BankICBC, CardType: CardTypeDebit, Last4: "0017"}
	if active.Status != BindingActive || !strings.HasPrefix(active.AgreementNo, AgreementPrefix) || !reflect.DeepEqual(active.Card, wantCard) {
		t.Fatalf("right code: %+v", active)
	}
	if again := e.confirm("bind_1", otp); !reflect.DeepEqual(again, active) {
		t.Fatalf("confirming again: %+v, want %+v", again, active)
	}
	if q := e.binding(http.MethodGet, "/v1/card_bindings/bind_1", nil); !reflect.DeepEqual(q, active) {
		t.Fatalf("query: %+v", q)
	}
	agr := active.AgreementNo

	e.decide(t, "/v1/charges", charge("pay_agr", agr, 1200), KindCharge, StatusSucceeded, "", 1200)
	e.decide(t, "/v1/payouts", payout("po_agr", agr, 700), KindPayout, StatusSucceeded, "", -700)
	e.decide(t, "/v1/charges", charge("pay_agr_unknown", "agr_nobody", 1200), KindCharge, StatusFailed, FailureCardDeclined, 0)

	removed := e.binding(http.MethodDelete, "/v1/card_bindings/bind_1", nil)
	if removed.Status != BindingRemoved || removed.AgreementNo != agr {
		t.Fatalf("remove: %+v", removed)
	}
	if again := e.binding(http.MethodPost, "/v1/card_bindings/bind_1/unbind", nil); !reflect.DeepEqual(again, removed) {
		t.Fatalf("remove again: %+v", again)
	}
	if c := e.confirm("bind_1", otp); c.Status != BindingRemoved {
		t.Fatalf("confirm after removal: %+v", c)
	}
	e.decide(t, "/v1/charges", charge("pay_agr_removed", agr, 1200), KindCharge, StatusFailed, FailureCardDeclined, 0)
	e.decide(t, "/v1/payouts", payout("po_agr_removed", agr, 700), KindPayout, StatusFailed, FailureAccountClosed, 0)
	// The earlier charge is still answered as it was.
	if _, got, _ := e.get("pay_agr"); got.Status != StatusSucceeded {
		t.Fatalf("earlier charge: %+v", got)
	}
	// Agreement transfers are in the statement like any other.
	code, raw := e.do(http.MethodGet, "/sim/statements/banksim-"+time.Now().UTC().Format("2006-01-02")+".csv", nil)
	if code != http.StatusOK || !strings.Contains(string(raw), "pay_agr,") || !strings.Contains(string(raw), "po_agr,") {
		t.Fatalf("statement: %d %s", code, raw)
	}
}

func TestBindingCodeExpiresAndTriesRunOut(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })

	e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_exp", CardCredit, "李四", liID, liPhone))
	otp := e.sms(liPhone)
	clock.Set(clock.Now().Add(otpTTL + time.Second))
	if c := e.confirm("bind_exp", otp); c.Status != OTPExpired {
		t.Fatalf("old code: %+v", c)
	}
	// A resend gives a fresh code that works.
	resent := e.binding(http.MethodPost, "/v1/card_bindings/bind_exp/resend", nil)
	if resent.Status != BindingOTPSent || !resent.OTPExpiresAt.Equal(clock.Now().Add(otpTTL).UTC()) {
		t.Fatalf("resend: %+v", resent)
	}
	fresh := e.sms(liPhone)
	if c := e.confirm("bind_exp", fresh); c.Status != BindingActive {
		t.Fatalf("fresh code: %+v", c)
	}

	e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_tries", CardDebit, "张三", zhangID, zhangPhone))
	otp = e.sms(zhangPhone)
	for i := 0; i < otpMaxTries; i++ {
		if c := e.confirm("bind_tries", wrongOTP(otp)); c.Status != OTPIncorrect {
			t.Fatalf("wrong code %d: %+v", i+1, c)
		}
	}
	if c := e.confirm("bind_tries", otp); c.Status != OTPTriesExceeded {
		t.Fatalf("right code after %d wrong ones: %+v", otpMaxTries, c)
	}
	e.binding(http.MethodPost, "/v1/card_bindings/bind_tries/resend", nil)
	if c := e.confirm("bind_tries", e.sms(zhangPhone)); c.Status != BindingActive {
		t.Fatalf("after a resend: %+v", c)
	}
}

func TestSlowSMSCardCodeArrivesTwoSecondsLate(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })
	sent := clock.Now()
	if got := e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_slow", CardSlowSMS, "王五", wangID, wangPhone)); got.Status != BindingOTPSent {
		t.Fatalf("start: %+v", got)
	}
	for _, after := range []time.Duration{0, smsDelay - time.Millisecond} {
		clock.Set(sent.Add(after))
		if code, raw := e.do(http.MethodGet, "/sim/sms?phone="+wangPhone, nil); code != http.StatusNotFound {
			t.Fatalf("%v after sending: %d %s, want 404", after, code, raw)
		}
	}
	clock.Set(sent.Add(smsDelay))
	otp := e.sms(wangPhone)
	if c := e.confirm("bind_slow", otp); c.Status != BindingActive || c.Card.Bank != BankABC {
		t.Fatalf("confirm: %+v", c)
	}
	// A resend's code is late too: the old one shows until the new arrives.
	e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_slow2", CardSlowSMS, "王五", wangID, wangPhone))
	if e.sms(wangPhone) != otp {
		t.Fatal("the new code showed at once")
	}
	clock.Set(clock.Now().Add(smsDelay))
	if e.sms(wangPhone) == otp {
		t.Fatal("the new code never showed")
	}
	if code, _ := e.do(http.MethodGet, "/sim/sms", nil); code != http.StatusBadRequest {
		t.Fatalf("no phone: %d, want 400", code)
	}
}

func TestBindingSurvivesRestart(t *testing.T) {
	e := newEnv(t, Config{})
	e.binding(http.MethodPost, "/v1/card_bindings", bind("bind_rs", CardDebit, "张三", zhangID, zhangPhone))
	otp := e.sms(zhangPhone)
	e.restart(Config{})
	active := e.confirm("bind_rs", otp)
	if active.Status != BindingActive {
		t.Fatalf("after restart: %+v", active)
	}
	e.restart(Config{})
	e.decide(t, "/v1/charges", charge("pay_rs", active.AgreementNo, 300), KindCharge, StatusSucceeded, "", 300)
	if n := e.executions("bind_rs"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
}
