package banksim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// Seeded holders' elements, as the tests send them.
const (
	zhangID, zhangPhone = "110105199003070017", "13800138000"
	liID, liPhone       = "310115198512240024", "13900139000"
	wangID, wangPhone   = "440304199208150038", "13700137000"
)

func verify(id, card, name, idNumber, phone string) map[string]any {
	return map[string]any{"request_id": id, "card_number": card, "name": name, "id_number": idNumber, "phone": phone}
}

func (e *testEnv) verifyOK(body map[string]any) VerifyAnswer {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, "/v1/verifications", body)
	if code != http.StatusOK {
		e.t.Fatalf("verify: %d %s", code, raw)
	}
	return decodeAs[VerifyAnswer](e.t, raw)
}

func TestVerificationOfEachCard(t *testing.T) {
	e := newEnv(t, Config{})
	icbcDebit := CardInfo{Bank: BankICBC, CardType: CardTypeDebit, Last4: "0017"}
	tests := []struct {
		name                        string
		card, holder, idNumber, tel string
		result                      string
		mismatched                  []string
		reason                      string
		card4                       CardInfo
	}{
		{"debit, 2 elements", CardDebit, "张三", "", "", VerifyMatch, []string{}, "", icbcDebit},
		{"debit, 3 elements", CardDebit, "张三", zhangID, "", VerifyMatch, []string{}, "", icbcDebit},
		{"debit, 4 elements", CardDebit, "张三", zhangID, zhangPhone, VerifyMatch, []string{}, "", icbcDebit},
		{"debit, wrong name", CardDebit, "李四", "", "", VerifyMismatch, []string{"name"}, "", icbcDebit},
		{"debit, wrong id and phone", CardDebit, "张三", liID, liPhone, VerifyMismatch, []string{"id_number", "phone"}, "", icbcDebit},
		{"credit, 4 elements", CardCredit, "李四", liID, liPhone, VerifyMatch, []string{}, "",
			CardInfo{Bank: BankICBC, CardType: CardTypeCredit, Last4: "0025"}},
		{"credit, wrong phone", CardCredit, "李四", liID, zhangPhone, VerifyMismatch, []string{"phone"}, "",
			CardInfo{Bank: BankICBC, CardType: CardTypeCredit, Last4: "0025"}},
		{"unsupported", CardUnsupported, "张三", zhangID, zhangPhone, VerifyMismatch, []string{"card_number"}, ReasonUnsupportedCard,
			CardInfo{Last4: "0033"}},
		{"slow sms card verifies at once", CardSlowSMS, "王五", wangID, wangPhone, VerifyMatch, []string{}, "",
			CardInfo{Bank: BankABC, CardType: CardTypeDebit, Last4: "0059"}},
		{"unknown card", "6222029999999999999", "张三", "", "", VerifyMismatch, []string{"card_number"}, "", CardInfo{Last4: "9999"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "ver_" + string(rune('a'+i))
			body := verify(id, tt.card, tt.holder, tt.idNumber, tt.tel)
			got := e.verifyOK(body)
			want := VerifyAnswer{RequestID: id, Result: tt.result, MismatchedFields: tt.mismatched, Reason: tt.reason, Card: tt.card4}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
			// The request id is the idempotency key: a repeat, even with other
			// elements, answers the first result and executes nothing.
			body["name"] = "someone else"
			if again := e.verifyOK(body); !reflect.DeepEqual(again, want) {
				t.Fatalf("repeat: %+v, want %+v", again, want)
			}
			if n := e.executions(id); n != 1 {
				t.Fatalf("executions = %d, want 1", n)
			}
		})
	}
}

func TestVerificationValidatesAndHonoursFaults(t *testing.T) {
	e := newEnv(t, Config{})
	for _, bad := range []map[string]any{
		verify("", CardDebit, "张三", "", ""),
		verify("v1", "123", "张三", "", ""),
		verify("v1", CardDebit, "", "", ""),
		verify("v 1", CardDebit, "张三", "", ""),
	} {
		if code, raw := e.do(http.MethodPost, "/v1/verifications", bad); code != http.StatusBadRequest {
			t.Errorf("%v: %d %s, want 400", bad, code, raw)
		}
	}
	e.setFaults(map[string]any{"down": true})
	if code, _ := e.do(http.MethodPost, "/v1/verifications", verify("ver_down", CardDebit, "张三", "", "")); code != http.StatusServiceUnavailable {
		t.Fatalf("down: %d, want 503", code)
	}
	if n := e.executions("ver_down"); n != 0 {
		t.Fatalf("a refused verification executed %d times", n)
	}
	e.setFaults(map[string]any{})
	if got := e.verifyOK(verify("ver_down", CardDebit, "张三", "", "")); got.Result != VerifyMatch {
		t.Fatalf("after the fault: %+v", got)
	}
}

// postWithTimeout posts body with a client that gives up after d.
func (e *testEnv) postWithTimeout(path string, body any, d time.Duration) error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.http.URL+path, strings.NewReader(mustJSON(e.t, body)))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestTimeoutCardExecutesOnceAndAnswersTheRepeat(t *testing.T) {
	e := newEnv(t, Config{})
	t.Run("verification", func(t *testing.T) {
		body := verify("ver_hang", CardTimeoutSuccess, "张三", zhangID, zhangPhone)
		if err := e.postWithTimeout("/v1/verifications", body, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("first call: %v, want the client's timeout", err)
		}
		got := e.verifyOK(body)
		if got.Result != VerifyMatch || got.Card.Last4 != "0041" {
			t.Fatalf("repeat: %+v", got)
		}
		if n := e.executions("ver_hang"); n != 1 {
			t.Fatalf("executions = %d, want 1", n)
		}
	})
	t.Run("binding", func(t *testing.T) {
		body := bind("bind_hang", CardTimeoutSuccess, "张三", zhangID, zhangPhone)
		if err := e.postWithTimeout("/v1/card_bindings", body, 300*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("first call: %v, want the client's timeout", err)
		}
		first := e.sms(zhangPhone)
		got := e.binding(http.MethodPost, "/v1/card_bindings", body)
		if got.Status != BindingOTPSent {
			t.Fatalf("repeat: %+v", got)
		}
		if again := e.sms(zhangPhone); again != first {
			t.Fatalf("the repeat sent another code")
		}
		if n := e.executions("bind_hang"); n != 1 {
			t.Fatalf("executions = %d, want 1", n)
		}
	})
}

func TestAddedCardholderVerifies(t *testing.T) {
	e := newEnv(t, Config{})
	code, raw := e.do(http.MethodPost, "/sim/cardholders", map[string]any{
		"card_number": "6228481234567890", "name": "钱七", "id_number": "110101199001011234", "phone": "13600136000",
	})
	if code != http.StatusCreated {
		t.Fatalf("add: %d %s", code, raw)
	}
	got := e.verifyOK(verify("ver_added", "6228481234567890", "钱七", "110101199001011234", "13600136000"))
	want := VerifyAnswer{RequestID: "ver_added", Result: VerifyMatch, MismatchedFields: []string{},
		Card: CardInfo{Bank: BankABC, CardType: CardTypeDebit, Last4: "7890"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		`{"card_number":"12","name":"a","id_number":"b","phone":"c"}`,
		`{"card_number":"6228481234567890","id_number":"b","phone":"c"}`,
		`{"card_number":"6228481234567890","name":"a","id_number":"b","phone":"c","card_type":"prepaid"}`,
	} {
		if code, raw := e.do(http.MethodPost, "/sim/cardholders", bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, code, raw)
		}
	}
}

func TestSeededCardholdersSurviveAnOperatorsChange(t *testing.T) {
	e := newEnv(t, Config{})
	if code, raw := e.do(http.MethodPost, "/sim/cardholders", map[string]any{
		"card_number": CardDebit, "name": "张三", "id_number": zhangID, "phone": "13800000000",
	}); code != http.StatusCreated {
		t.Fatalf("replace: %d %s", code, raw)
	}
	e.restart(Config{})
	// The seed does not overwrite what was changed.
	if got := e.verifyOK(verify("ver_changed", CardDebit, "张三", "", "13800000000")); got.Result != VerifyMatch {
		t.Fatalf("after restart: %+v", got)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return s
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// Concurrent requests of one request id queue on the write transaction: one
// executes, the others answer its result.
func TestIdentityRequestsExecuteOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"bureau_delay_ms": 0})
	requests := []struct {
		path, id string
		body     map[string]any
	}{
		{"/v1/verifications", "ver_conc", verify("ver_conc", CardDebit, "张三", zhangID, zhangPhone)},
		{"/v1/card_bindings", "bind_conc", bind("bind_conc", CardCredit, "李四", liID, liPhone)},
		{"/v1/credit_queries", "cq_conc", creditQuery("cq_conc", "张三", SubjectGood, "")},
	}
	for _, r := range requests {
		var wg sync.WaitGroup
		codes := make([]int, 8)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = e.do(http.MethodPost, r.path, r.body)
			}()
		}
		wg.Wait()
		for _, c := range codes {
			if c != http.StatusOK && c != http.StatusAccepted {
				t.Fatalf("%s: status %d", r.path, c)
			}
		}
		if n := e.executions(r.id); n != 1 {
			t.Fatalf("%s executed %d times", r.id, n)
		}
	}
	var sent int
	if err := e.srv.db.QueryRow(`SELECT COUNT(*) FROM sms WHERE phone = ?`, liPhone).Scan(&sent); err != nil || sent != 1 {
		t.Fatalf("codes sent: %d (%v), want 1", sent, err)
	}
}
