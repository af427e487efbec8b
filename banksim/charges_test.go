package banksim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestChargeTokens(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		token       string
		status      Status
		failureCode string
	}{
		{TokenSuccess, StatusSucceeded, ""},
		{TokenDecline, StatusFailed, FailureCardDeclined},
		{TokenInsufficientFunds, StatusFailed, FailureInsufficientFunds},
		{TokenProcessing, StatusProcessing, ""},
		{"tok_unknown", StatusFailed, FailureCardDeclined},
		{"4242424242424242", StatusFailed, FailureCardDeclined},
	}
	for i, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			ref := fmt.Sprintf("pay_tokens_%d", i)
			got := e.decide(t, "/v1/charges", charge(ref, tt.token, 1250), KindCharge, tt.status, tt.failureCode, 1250)
			if got.Reference != ref || got.Kind != KindCharge || got.Amount != 1250 || got.Currency != "CNY" {
				t.Errorf("transfer does not echo the request: %+v", got)
			}
			if !strings.HasPrefix(got.BankID, "sim_") || got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC {
				t.Errorf("bank_id/created_at: %+v", got)
			}
			if final := got.Status != StatusProcessing; final != (got.CompletedAt != nil) {
				t.Errorf("completed_at = %v for status %s", got.CompletedAt, got.Status)
			}
		})
	}
}

func TestChargeRepeatIsIdempotent(t *testing.T) {
	e := newEnv(t, Config{})
	first := e.transfer("/v1/charges", charge("pay_repeat", TokenSuccess, 500))
	second := e.transfer("/v1/charges", charge("pay_repeat", TokenSuccess, 500))
	if first.BankID != second.BankID || !first.CreatedAt.Equal(second.CreatedAt) || second.Status != StatusSucceeded {
		t.Fatalf("repeat answered a different transfer: %+v vs %+v", first, second)
	}
	// A repeat returns the first outcome, whatever the token says now.
	third := e.transfer("/v1/charges", charge("pay_repeat", TokenDecline, 500))
	if third.BankID != first.BankID || third.Status != StatusSucceeded {
		t.Fatalf("repeat with another token re-decided: %+v", third)
	}
	if n := e.executions("pay_repeat"); n != 1 {
		t.Fatalf("executions = %d, want 1", n)
	}
	if got := e.balance("CNY"); got != openingFloat+500 {
		t.Fatalf("balance = %d, want %d", got, openingFloat+500)
	}
}

func TestConcurrentIdenticalChargesExecuteOnce(t *testing.T) {
	e := newEnv(t, Config{})
	const n = 50
	var wg sync.WaitGroup
	bankIDs := make([]string, n)
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, raw := e.do(http.MethodPost, "/v1/charges", charge("pay_concurrent", TokenSuccess, 777))
			codes[i] = code
			if code == http.StatusOK {
				bankIDs[i] = decodeAs[Transfer](t, raw).BankID
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != http.StatusOK || bankIDs[i] != bankIDs[0] {
			t.Fatalf("request %d: status %d bank_id %q, want 200 %q", i, codes[i], bankIDs[i], bankIDs[0])
		}
	}
	if got := e.executions("pay_concurrent"); got != 1 {
		t.Fatalf("executions = %d, want 1", got)
	}
	if got := e.balance("CNY"); got != openingFloat+777 {
		t.Fatalf("balance = %d, want one movement", got)
	}
}

func TestReferenceConflict(t *testing.T) {
	e := newEnv(t, Config{})
	e.transfer("/v1/charges", charge("pay_conflict", TokenSuccess, 100))
	tests := []struct {
		name string
		path string
		body map[string]any
	}{
		{"other amount", "/v1/charges", charge("pay_conflict", TokenSuccess, 101)},
		{"other currency", "/v1/charges", map[string]any{"reference": "pay_conflict", "amount": 100, "currency": "USD", "token": TokenSuccess}},
		{"other kind", "/v1/payouts", payout("pay_conflict", AccountSuccess, 100)},
		{"refund reusing a charge reference", "/v1/refunds", refund("pay_conflict", "pay_conflict", 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, raw := e.do(http.MethodPost, tt.path, tt.body)
			if code != http.StatusConflict || decodeAs[errorBody](t, raw).Error != ErrCodeReferenceConflict {
				t.Fatalf("status %d body %s, want 409 reference_conflict", code, raw)
			}
		})
	}
	if n := e.executions("pay_conflict"); n != 1 {
		t.Fatalf("executions = %d, want 1", n)
	}
}

// TestInvalidRequestMessages pins which field an invalid request is answered
// about: the first that fails, in the order of the body.
func TestInvalidRequestMessages(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		path string
		body any
		want string
	}{
		{"/v1/charges", `{"reference":"pay_bad","amount":"1","currency":"CNY","token":"tok_success"}`, `body: field "amount" must be a int64`},
		{"/v1/refunds", `{"reference":"re_bad","charge_reference":1}`, `body: field "charge_reference" must be a string`},
		{"/v1/charges", map[string]any{"reference": "pay_bad", "amount": 0, "currency": "cny"}, "amount must be a positive integer of minor units"},
		{"/v1/charges", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "cny"}, "currency must be 3 uppercase letters"},
		{"/v1/charges", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "CNY", "callback_url": "/cb"}, "token is required"},
		{"/v1/payouts", map[string]any{"reference": "wd_bad", "amount": 5, "currency": "CNY", "callback_url": "/cb"}, "bank_account is required"},
		{"/v1/payouts", map[string]any{"reference": "wd_bad", "amount": 5, "currency": "CNY", "bank_account": "x", "callback_url": "/cb"},
			"callback_url must be an absolute http or https URL"},
		{"/v1/refunds", map[string]any{"reference": "re_bad", "amount": 0}, "charge_reference is required"},
		{"/v1/refunds", map[string]any{"charge_reference": "pay_x", "amount": 0}, "reference is required"},
		{"/v1/refunds", map[string]any{"reference": "re_bad", "charge_reference": "pay_x", "amount": 5, "currency": "CNY", "callback_url": "/cb"},
			"callback_url must be an absolute http or https URL"},
	}
	for _, tt := range tests {
		code, raw := e.do(http.MethodPost, tt.path, tt.body)
		if body := decodeAs[errorBody](t, raw); code != http.StatusBadRequest || body.Error != ErrCodeInvalidRequest || body.Message != tt.want {
			t.Errorf("%s %v: %d %s, want 400 invalid_request %q", tt.path, tt.body, code, raw, tt.want)
		}
	}
}

func TestInvalidRequestsExecuteNothing(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		name string
		path string
		body any
	}{
		{"not JSON", "/v1/charges", `{"reference":`},
		{"empty body", "/v1/charges", ""},
		{"trailing data", "/v1/charges", `{"reference":"pay_bad","amount":1,"currency":"CNY","token":"tok_success"} {}`},
		{"amount as float", "/v1/charges", `{"reference":"pay_bad","amount":1.5,"currency":"CNY","token":"tok_success"}`},
		{"amount as string", "/v1/charges", `{"reference":"pay_bad","amount":"1","currency":"CNY","token":"tok_success"}`},
		{"amount overflows int64", "/v1/charges", `{"reference":"pay_bad","amount":9223372036854775808,"currency":"CNY","token":"tok_success"}`},
		{"zero amount", "/v1/charges", charge("pay_bad", TokenSuccess, 0)},
		{"negative amount", "/v1/charges", charge("pay_bad", TokenSuccess, -5)},
		{"missing reference", "/v1/charges", charge("", TokenSuccess, 5)},
		{"reference with a slash", "/v1/charges", charge("pay/bad", TokenSuccess, 5)},
		{"missing token", "/v1/charges", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "CNY"}},
		{"lowercase currency", "/v1/charges", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "cny", "token": TokenSuccess}},
		{"long currency", "/v1/charges", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "CNYY", "token": TokenSuccess}},
		{"relative callback_url", "/v1/charges", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "CNY", "token": TokenSuccess, "callback_url": "/cb"}},
		{"payout without account", "/v1/payouts", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "CNY"}},
		{"refund without charge", "/v1/refunds", map[string]any{"reference": "pay_bad", "amount": 5, "currency": "CNY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, raw := e.do(http.MethodPost, tt.path, tt.body)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d body %s, want 400", code, raw)
			}
			if body := decodeAs[errorBody](t, raw); body.Error != ErrCodeInvalidRequest || body.Message == "" {
				t.Fatalf("body %s, want invalid_request with a message", raw)
			}
		})
	}
	if n := e.executions("pay_bad"); n != 0 {
		t.Fatalf("executions = %d, want 0", n)
	}
	if code, _, body := e.get("pay_bad"); code != http.StatusNotFound || body.Error != ErrCodeNotFound {
		t.Fatalf("query: %d %+v, want 404 not_found", code, body)
	}
}

func TestTransferQuery(t *testing.T) {
	e := newEnv(t, Config{})
	created := e.transfer("/v1/charges", charge("pay_query", TokenDecline, 300))
	tests := []struct {
		name     string
		ref      string
		wantCode int
		wantErr  string
	}{
		{"found", "pay_query", http.StatusOK, ""},
		{"never seen", "pay_never", http.StatusNotFound, ErrCodeNotFound},
		{"impossible reference", "pay%20x", http.StatusNotFound, ErrCodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got, body := e.get(tt.ref)
			if code != tt.wantCode || body.Error != tt.wantErr {
				t.Fatalf("got %d %+v, want %d %q", code, body, tt.wantCode, tt.wantErr)
			}
			if code == http.StatusOK && (got.BankID != created.BankID || got.FailureCode != FailureCardDeclined) {
				t.Fatalf("query answered %+v, want %+v", got, created)
			}
		})
	}
	// An unknown route is never mistaken for the query's exact not_found.
	code, raw := e.do(http.MethodGet, "/v1/transfers/", nil)
	if code != http.StatusNotFound || decodeAs[errorBody](t, raw).Error == ErrCodeNotFound {
		t.Fatalf("GET /v1/transfers/: %d %s", code, raw)
	}
}

func TestFlakyRefusesTwiceThenSucceedsAcrossRestart(t *testing.T) {
	e := newEnv(t, Config{})
	req := charge("pay_flaky", TokenFlaky, 900)
	refuse := func(attempt int) {
		t.Helper()
		code, raw := e.do(http.MethodPost, "/v1/charges", req)
		if code != http.StatusServiceUnavailable || decodeAs[errorBody](t, raw).Error != ErrCodeBankUnavailable {
			t.Fatalf("attempt %d: %d %s, want 503 bank_unavailable", attempt, code, raw)
		}
		if n := e.executions("pay_flaky"); n != 0 {
			t.Fatalf("attempt %d executed (%d)", attempt, n)
		}
		if code, _, _ := e.get("pay_flaky"); code != http.StatusNotFound {
			t.Fatalf("attempt %d: query %d, want 404", attempt, code)
		}
	}
	refuse(1)
	e.restart(Config{}) // the count is stored, not in memory
	refuse(2)
	got := e.transfer("/v1/charges", req)
	if got.Status != StatusSucceeded {
		t.Fatalf("third attempt: %+v, want succeeded", got)
	}
	again := e.transfer("/v1/charges", req)
	if again.BankID != got.BankID {
		t.Fatalf("fourth attempt executed again: %+v", again)
	}
	if n := e.executions("pay_flaky"); n != 1 {
		t.Fatalf("executions = %d, want 1", n)
	}
}

func TestTimeoutSuccessExecutesAlthoughTheClientTimesOut(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		path string
		body map[string]any
		kind Kind
	}{
		{"/v1/charges", charge("pay_timeout", TokenTimeoutSuccess, 4200), KindCharge},
		{"/v1/payouts", payout("wd_timeout", AccountTimeoutSuccess, 4200), KindPayout},
	}
	client := &http.Client{Timeout: 200 * time.Millisecond}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			ref := tt.body["reference"].(string)
			raw := fmt.Sprintf(`{"reference":%q,"amount":4200,"currency":"CNY","token":%q,"bank_account":%q}`,
				ref, TokenTimeoutSuccess, AccountTimeoutSuccess)
			resp, err := client.Post(e.http.URL+tt.path, "application/json", strings.NewReader(raw))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got status %d, want a client timeout", resp.StatusCode)
			}
			if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
				t.Fatalf("got %v, want a timeout", err)
			}
			// The client may give up before the bank has committed (a loaded
			// machine, the race detector): the transfer still executes, so the
			// query answers it once the bank is done, not necessarily at once.
			var got Transfer
			eventually(t, ref+" to be queryable", func() bool {
				var code int
				code, got, _ = e.get(ref)
				return code == http.StatusOK
			})
			if got.Status != StatusSucceeded || got.Kind != tt.kind {
				t.Fatalf("query: %+v, want succeeded", got)
			}
			if n := e.executions(ref); n != 1 {
				t.Fatalf("executions = %d, want 1", n)
			}
			// Sending it again answers at once with the executed transfer.
			again := e.transfer(tt.path, tt.body)
			if again.BankID != got.BankID {
				t.Fatalf("repeat: %+v, want %+v", again, got)
			}
		})
	}
}

func TestTimeoutSuccessAnswers504AfterTheHoldLimit(t *testing.T) {
	e := newEnv(t, Config{}, func(s *Server) { s.hangLimit = 50 * time.Millisecond })
	code, raw := e.do(http.MethodPost, "/v1/charges", charge("pay_held", TokenTimeoutSuccess, 10))
	if code != http.StatusGatewayTimeout || decodeAs[errorBody](t, raw).Error != ErrCodeTimeout {
		t.Fatalf("%d %s, want 504 timeout", code, raw)
	}
	if _, got, _ := e.get("pay_held"); got.Status != StatusSucceeded {
		t.Fatalf("query: %+v, want succeeded", got)
	}
}
