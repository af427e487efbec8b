package banksim

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// walletCode is an 18-digit payment code: prefix, a serial and the last digit
// that chooses the outcome.
func walletCode(prefix int, serial int64, digit int) string {
	return fmt.Sprintf("%02d%015d%d", prefix, serial, digit)
}

// codePrefix is a valid prefix of each provider.
var codePrefix = map[string]int{ProviderAlipay: 28, ProviderWxpay: 13}

func payBody(ref, code string, amount int64) map[string]any {
	return map[string]any{"out_trade_no": ref, "amount": amount, "currency": "CNY", "auth_code": code}
}

func createBody(ref string, amount int64) map[string]any {
	return map[string]any{"out_trade_no": ref, "amount": amount, "currency": "CNY"}
}

// wallet sends a wallet request and decodes a trade (200) or an error body.
func (e *testEnv) wallet(method, path string, body any) (int, WalletTrade, walletErrorBody) {
	e.t.Helper()
	code, raw := e.do(method, path, body)
	if code == http.StatusOK {
		return code, decodeAs[WalletTrade](e.t, raw), walletErrorBody{}
	}
	return code, WalletTrade{}, decodeAs[walletErrorBody](e.t, raw)
}

// okTrade sends a wallet request that must answer 200 with a trade.
func (e *testEnv) okTrade(method, path string, body any) WalletTrade {
	e.t.Helper()
	code, tr, eb := e.wallet(method, path, body)
	if code != http.StatusOK {
		e.t.Fatalf("%s %s: %d %+v", method, path, code, eb)
	}
	return tr
}

func (e *testEnv) queryTrade(provider, ref string) WalletTrade {
	e.t.Helper()
	return e.okTrade(http.MethodGet, "/"+provider+"/trades/"+ref, nil)
}

func (e *testEnv) walletRefund(provider, ref string, body any) (int, WalletRefund, errorBody) {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, "/"+provider+"/trades/"+ref+"/refund", body)
	if code == http.StatusOK {
		return code, decodeAs[WalletRefund](e.t, raw), errorBody{}
	}
	return code, WalletRefund{}, decodeAs[errorBody](e.t, raw)
}

func (e *testEnv) adminPay(provider, tradeNo string) (int, WalletTrade, walletErrorBody) {
	e.t.Helper()
	return e.wallet(http.MethodPost, "/sim/wallet/pay", map[string]any{"provider": provider, "trade_no": tradeNo})
}

func TestPayByCodeOutcomes(t *testing.T) {
	tests := []struct {
		digit       int
		status      TradeStatus
		failureCode string
		paid        bool
		confirms    bool // USERPAYING now, SUCCESS once the confirmation is due
	}{
		{digit: 0, status: TradeSuccess, paid: true},
		{digit: 1, status: TradeUserPaying, confirms: true},
		{digit: 2, status: TradeUserPaying},
		{digit: 3, status: TradePayError, failureCode: FailureInsufficientFunds},
		{digit: 5, status: TradePayError, failureCode: FailureCodeExpired},
		{digit: 7, status: TradeSuccess, paid: true},
	}
	for _, provider := range []string{ProviderAlipay, ProviderWxpay} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", provider, tt.digit), func(t *testing.T) {
				clock := &fakeClock{}
				clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
				e := newEnv(t, Config{ConfirmDelay: 5 * time.Second}, func(s *Server) { s.now = clock.Now })
				ref := fmt.Sprintf("pay_code%d", tt.digit)
				code := walletCode(codePrefix[provider], 1, tt.digit)
				got := e.okTrade(http.MethodPost, "/"+provider+"/trades/pay", payBody(ref, code, 1500))
				if got.Status != tt.status || got.FailureCode != tt.failureCode || got.Mode != ModeCode ||
					got.OutTradeNo != ref || got.Provider != provider || got.Amount != 1500 || got.CheckoutURL != "" {
					t.Fatalf("pay: %+v, want %s/%q", got, tt.status, tt.failureCode)
				}
				if (got.PaidAmount == 1500) != tt.paid || (got.PaidAt != nil) != tt.paid {
					t.Fatalf("pay: paid_amount %d paid_at %v, want paid=%v", got.PaidAmount, got.PaidAt, tt.paid)
				}
				q := e.queryTrade(provider, ref)
				if q.Status != tt.status || q.TradeNo != got.TradeNo || q.FailureCode != tt.failureCode {
					t.Fatalf("query: %+v", q)
				}
				// The customer confirms 5 s later (codes ending in 1); the others stay as they are.
				clock.Set(clock.Now().Add(5 * time.Second))
				kick(e.srv.wakeComplete)
				if tt.confirms {
					eventually(t, "the confirmation", func() bool { return e.queryTrade(provider, ref).Status == TradeSuccess })
					if q := e.queryTrade(provider, ref); q.PaidAmount != 1500 || q.PaidAt == nil {
						t.Fatalf("after confirmation: %+v", q)
					}
				} else {
					// A pass of the worker with the clock past the delay.
					if err := e.srv.completeDue(t.Context()); err != nil {
						t.Fatal(err)
					}
					if q := e.queryTrade(provider, ref); q.Status != tt.status {
						t.Fatalf("after the delay: %s, want %s", q.Status, tt.status)
					}
				}
			})
		}
	}
}

func TestPayByCodeTimesOutAfterCharging(t *testing.T) {
	for _, provider := range []string{ProviderAlipay, ProviderWxpay} {
		t.Run(provider, func(t *testing.T) {
			e := newEnv(t, Config{}, func(s *Server) { s.hangLimit = 50 * time.Millisecond })
			code, raw := e.do(http.MethodPost, "/"+provider+"/trades/pay", payBody("pay_hang", walletCode(codePrefix[provider], 9, 4), 800))
			if code != http.StatusGatewayTimeout || decodeAs[errorBody](t, raw).Error != ErrCodeTimeout {
				t.Fatalf("pay: %d %s, want 504 timeout", code, raw)
			}
			if q := e.queryTrade(provider, "pay_hang"); q.Status != TradeSuccess || q.PaidAmount != 800 {
				t.Fatalf("query after the timeout: %+v, want paid", q)
			}
			if n := e.executions("pay_hang"); n != 1 {
				t.Fatalf("executions = %d", n)
			}
		})
	}
}

func TestPaymentCodeIsSingleUse(t *testing.T) {
	for _, provider := range []string{ProviderAlipay, ProviderWxpay} {
		t.Run(provider, func(t *testing.T) {
			e := newEnv(t, Config{})
			path := "/" + provider + "/trades/pay"
			for _, digit := range []int{0, 3} { // consumed whatever its outcome
				c := walletCode(codePrefix[provider], 42, digit)
				first := e.okTrade(http.MethodPost, path, payBody(fmt.Sprintf("pay_first%d", digit), c, 100))
				// The same request again answers the same trade, not code_used.
				again := e.okTrade(http.MethodPost, path, payBody(fmt.Sprintf("pay_first%d", digit), c, 100))
				if again.TradeNo != first.TradeNo || again.Status != first.Status {
					t.Fatalf("repeat: %+v, first %+v", again, first)
				}
				second := e.okTrade(http.MethodPost, path, payBody(fmt.Sprintf("pay_second%d", digit), c, 100))
				if second.Status != TradePayError || second.FailureCode != FailureCodeUsed || second.PaidAmount != 0 {
					t.Fatalf("second use: %+v, want PAYERROR code_used", second)
				}
			}
			// Another out_trade_no's code is a conflict for an out_trade_no already used.
			code, _, eb := e.wallet(http.MethodPost, path, payBody("pay_first0", walletCode(codePrefix[provider], 43, 0), 100))
			if code != http.StatusConflict || eb.Error != ErrCodeReferenceConflict {
				t.Fatalf("reused out_trade_no: %d %+v", code, eb)
			}
			code, _, eb = e.wallet(http.MethodPost, path, payBody("pay_first0", walletCode(codePrefix[provider], 42, 0), 101))
			if code != http.StatusConflict || eb.Error != ErrCodeReferenceConflict {
				t.Fatalf("same out_trade_no and code, other amount: %d %+v", code, eb)
			}
			code, _, eb = e.wallet(http.MethodPost, "/"+provider+"/trades", createBody("pay_first0", 100))
			if code != http.StatusConflict || eb.Error != ErrCodeReferenceConflict {
				t.Fatalf("a QR trade of a code's out_trade_no: %d %+v", code, eb)
			}
			if n := e.executions("pay_first0"); n != 1 {
				t.Fatalf("executions = %d", n)
			}
		})
	}
}

func TestPayByCodeRefusesInvalidRequests(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		provider string
		body     map[string]any
		want     string
	}{
		{ProviderAlipay, payBody("pay_x", walletCode(13, 1, 0), 100), "not a alipaysim payment code"},
		{ProviderWxpay, payBody("pay_x", walletCode(28, 1, 0), 100), "not a wxpaysim payment code"},
		{ProviderWxpay, payBody("pay_x", walletCode(99, 1, 0), 100), "not a wxpaysim payment code"},
		{ProviderAlipay, payBody("pay_x", "2800000000000000", 100), "18 digits"},
		{ProviderAlipay, payBody("pay_x", "28000000000000000a", 100), "18 digits"},
		{ProviderAlipay, payBody("pay_x", "", 100), "auth_code is required"},
		{ProviderAlipay, payBody("pay_x", walletCode(28, 1, 0), 0), "amount"},
		{ProviderAlipay, payBody("pay x", walletCode(28, 1, 0), 100), "out_trade_no"},
	}
	for _, tt := range tests {
		code, _, eb := e.wallet(http.MethodPost, "/"+tt.provider+"/trades/pay", tt.body)
		if code != http.StatusBadRequest || eb.Error != ErrCodeInvalidRequest || !strings.Contains(eb.Message, tt.want) {
			t.Errorf("%s %v: %d %+v, want 400 mentioning %q", tt.provider, tt.body, code, eb, tt.want)
		}
	}
	if code, _, eb := e.wallet(http.MethodGet, "/alipaysim/trades/pay_x", nil); code != http.StatusNotFound || eb.Error != ErrCodeNotFound {
		t.Fatalf("query after refusals: %d %+v, want not_found", code, eb)
	}
}

func TestCancelTrade(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(e *testEnv, clock *fakeClock) // leaves pay_c at alipaysim
		reversed int64
		refunded int64
	}{
		{name: "never confirmed", setup: func(e *testEnv, _ *fakeClock) {
			e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_c", walletCode(28, 1, 2), 1000))
		}},
		{name: "paid meanwhile by the customer's confirmation", reversed: 1000, setup: func(e *testEnv, clock *fakeClock) {
			e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_c", walletCode(28, 1, 1), 1000))
			clock.Set(clock.Now().Add(5 * time.Second))
			kick(e.srv.wakeComplete)
			eventually(e.t.(*testing.T), "the confirmation", func() bool { return e.queryTrade(ProviderAlipay, "pay_c").Status == TradeSuccess })
		}},
		{name: "paid at once, partly refunded", reversed: 600, refunded: 400, setup: func(e *testEnv, _ *fakeClock) {
			e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_c", walletCode(28, 1, 0), 1000))
			if code, rf, _ := e.walletRefund(ProviderAlipay, "pay_c", map[string]any{"out_request_no": "re_c", "amount": 400}); code != http.StatusOK || rf.Status != RefundSuccess {
				e.t.Fatalf("refund: %d %+v", code, rf)
			}
		}},
		{name: "QR trade paid at the checkout", reversed: 1000, setup: func(e *testEnv, _ *fakeClock) {
			tr := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_c", 1000))
			if code, _, eb := e.adminPay(ProviderAlipay, tr.TradeNo); code != http.StatusOK {
				e.t.Fatalf("pay: %d %+v", code, eb)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{}
			day := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
			clock.Set(day)
			e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })
			tt.setup(e, clock)
			got := e.okTrade(http.MethodPost, "/alipaysim/trades/pay_c/cancel", nil)
			if got.Status != TradeRevoked || got.ReversedAmount != tt.reversed || got.RefundedAmount != tt.refunded || got.EndedAt == nil {
				t.Fatalf("cancel: %+v, want REVOKED reversing %d", got, tt.reversed)
			}
			// Idempotent, and final: no payment, confirmation or refund after it.
			if again := e.okTrade(http.MethodPost, "/alipaysim/trades/pay_c/cancel", nil); again.Status != TradeRevoked || again.ReversedAmount != tt.reversed {
				t.Fatalf("second cancel: %+v", again)
			}
			if code, tr, eb := e.adminPay(ProviderAlipay, got.TradeNo); code != http.StatusConflict || eb.Error != ErrCodeTradeNotPayable || eb.Trade.Status != TradeRevoked {
				t.Fatalf("pay after cancel: %d %+v %+v", code, tr, eb)
			}
			clock.Set(clock.Now().Add(time.Minute))
			if err := e.srv.completeDue(t.Context()); err != nil {
				t.Fatal(err)
			}
			if code, rf, _ := e.walletRefund(ProviderAlipay, "pay_c", map[string]any{"out_request_no": "re_after", "amount": 1}); code != http.StatusOK || rf.FailureCode != FailureTradeNotPaid {
				t.Fatalf("refund after cancel: %d %+v", code, rf)
			}
			if q := e.queryTrade(ProviderAlipay, "pay_c"); q.Status != TradeRevoked || q.ReversedAmount != tt.reversed {
				t.Fatalf("query: %+v", q)
			}
			// The statement shows the money that went back as rev_<out_trade_no>.
			_, lines := e.statement("alipaysim-2026-12-02.csv")
			var rev []string
			for _, l := range lines {
				if l[0] == "rev_pay_c" {
					rev = l
				}
			}
			if tt.reversed == 0 && rev != nil {
				t.Fatalf("reversal line of an unpaid trade: %v", rev)
			}
			if tt.reversed > 0 && (rev == nil || rev[1] != "refund" || rev[2] != fmt.Sprint(tt.reversed) || rev[4] != "succeeded") {
				t.Fatalf("reversal line %v in %v", rev, lines)
			}
		})
	}
}

func TestCancelOfUnknownTradeFencesIt(t *testing.T) {
	e := newEnv(t, Config{})
	got := e.okTrade(http.MethodPost, "/wxpaysim/trades/pay_lost/cancel", nil)
	if got.Status != TradeRevoked || got.Mode != "" || got.Amount != 0 {
		t.Fatalf("cancel: %+v, want a REVOKED tombstone", got)
	}
	// The pay that was lost on its way arrives after the cancel: refused for good.
	c := walletCode(11, 5, 0)
	late := e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_lost", c, 300))
	if late.Status != TradeRevoked || late.PaidAmount != 0 {
		t.Fatalf("late pay: %+v", late)
	}
	if late := e.okTrade(http.MethodPost, "/wxpaysim/trades", createBody("pay_lost", 300)); late.Status != TradeRevoked {
		t.Fatalf("late create: %+v", late)
	}
	if n := e.executions("pay_lost"); n != 0 {
		t.Fatalf("executions = %d", n)
	}
	// The code was not consumed by the refused request.
	if tr := e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_other", c, 300)); tr.Status != TradeSuccess {
		t.Fatalf("code after the fenced request: %+v", tr)
	}
}

func TestCloseTrade(t *testing.T) {
	e := newEnv(t, Config{})
	// Unpaid: closed, and then it can no longer be paid.
	tr := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_open", 500))
	if tr.Status != TradeWaitBuyerPay || !strings.HasSuffix(tr.CheckoutURL, "/alipaysim/checkout/"+tr.TradeNo) {
		t.Fatalf("create: %+v", tr)
	}
	if got := e.okTrade(http.MethodPost, "/alipaysim/trades/pay_open/close", nil); got.Status != TradeClosed {
		t.Fatalf("close: %+v", got)
	}
	if got := e.okTrade(http.MethodPost, "/alipaysim/trades/pay_open/close", nil); got.Status != TradeClosed {
		t.Fatalf("close again: %+v", got)
	}
	if code, _, eb := e.adminPay(ProviderAlipay, tr.TradeNo); code != http.StatusConflict || eb.Error != ErrCodeTradeNotPayable {
		t.Fatalf("pay after close: %d %+v", code, eb)
	}
	// Paid: "already paid", and it stays paid.
	paid := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_paid", 500))
	if code, got, eb := e.adminPay(ProviderAlipay, paid.TradeNo); code != http.StatusOK || got.Status != TradeSuccess {
		t.Fatalf("pay: %d %+v %+v", code, got, eb)
	}
	code, _, eb := e.wallet(http.MethodPost, "/alipaysim/trades/pay_paid/close", nil)
	if code != http.StatusConflict || eb.Error != ErrCodeAlreadyPaid || eb.Trade == nil || eb.Trade.Status != TradeSuccess || eb.Trade.PaidAmount != 500 {
		t.Fatalf("close of a paid trade: %d %+v", code, eb)
	}
	if q := e.queryTrade(ProviderAlipay, "pay_paid"); q.Status != TradeSuccess {
		t.Fatalf("after the refused close: %+v", q)
	}
	// A USERPAYING code closes too.
	e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_up", walletCode(10, 1, 2), 70))
	if got := e.okTrade(http.MethodPost, "/wxpaysim/trades/pay_up/close", nil); got.Status != TradeClosed {
		t.Fatalf("close USERPAYING: %+v", got)
	}
	if code, _, eb := e.wallet(http.MethodPost, "/wxpaysim/trades/pay_never/close", nil); code != http.StatusNotFound || eb.Error != ErrCodeNotFound {
		t.Fatalf("close unknown: %d %+v", code, eb)
	}
}

// TestCloseBeforeConfirmation: a payment code closed while USERPAYING is not
// paid when its confirmation comes due.
func TestCloseBeforeConfirmation(t *testing.T) {
	clock := &fakeClock{}
	clock.Set(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_late", walletCode(29, 1, 1), 100))
	if got := e.okTrade(http.MethodPost, "/alipaysim/trades/pay_late/close", nil); got.Status != TradeClosed {
		t.Fatalf("close: %+v", got)
	}
	clock.Set(clock.Now().Add(time.Minute))
	if err := e.srv.completeDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if q := e.queryTrade(ProviderAlipay, "pay_late"); q.Status != TradeClosed || q.PaidAmount != 0 {
		t.Fatalf("after the confirmation was due: %+v", q)
	}
	if n := e.executions("pay_late"); n != 0 {
		t.Fatalf("executions = %d", n)
	}
}

// TestCloseRacesPay: a close and a payment of one trade at the same time end
// in exactly one of two consistent outcomes, never both or neither.
func TestCloseRacesPay(t *testing.T) {
	e := newEnv(t, Config{})
	for i := range 20 {
		ref := fmt.Sprintf("pay_race%d", i)
		tr := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody(ref, 100))
		var wg sync.WaitGroup
		var closeCode, payCode int
		var closeErr, payErr walletErrorBody
		var closed WalletTrade
		wg.Add(2)
		go func() {
			defer wg.Done()
			closeCode, closed, closeErr = e.wallet(http.MethodPost, "/alipaysim/trades/"+ref+"/close", nil)
		}()
		go func() {
			defer wg.Done()
			payCode, _, payErr = e.adminPay(ProviderAlipay, tr.TradeNo)
		}()
		wg.Wait()
		final := e.queryTrade(ProviderAlipay, ref)
		switch {
		case closeCode == http.StatusOK && closed.Status == TradeClosed:
			if payCode != http.StatusConflict || payErr.Error != ErrCodeTradeNotPayable || final.Status != TradeClosed {
				t.Fatalf("%s closed, but pay answered %d %+v and the trade is %s", ref, payCode, payErr, final.Status)
			}
		case closeCode == http.StatusConflict && closeErr.Error == ErrCodeAlreadyPaid:
			if payCode != http.StatusOK || final.Status != TradeSuccess {
				t.Fatalf("%s already paid, but pay answered %d and the trade is %s", ref, payCode, final.Status)
			}
		default:
			t.Fatalf("%s close answered %d %+v", ref, closeCode, closeErr)
		}
	}
}

func TestRefundTrade(t *testing.T) {
	e := newEnv(t, Config{})
	e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_r", walletCode(12, 1, 0), 1000))
	e.okTrade(http.MethodPost, "/wxpaysim/trades", createBody("pay_unpaid", 1000))
	steps := []struct {
		name        string
		trade       string
		body        map[string]any
		code        int
		status      string
		failureCode string
		refunded    int64 // the trade's refunded_amount afterwards
	}{
		{"partial", "pay_r", map[string]any{"out_request_no": "re_1", "amount": 300}, 200, RefundSuccess, "", 300},
		{"repeat answers the first", "pay_r", map[string]any{"out_request_no": "re_1", "amount": 300}, 200, RefundSuccess, "", 300},
		{"same id, other amount", "pay_r", map[string]any{"out_request_no": "re_1", "amount": 301}, 409, "", "", 300},
		{"above what remains", "pay_r", map[string]any{"out_request_no": "re_2", "amount": 701}, 200, RefundFailed, FailureRefundExceedsCharge, 300},
		{"failed one repeated stays failed", "pay_r", map[string]any{"out_request_no": "re_2", "amount": 701}, 200, RefundFailed, FailureRefundExceedsCharge, 300},
		{"other currency", "pay_r", map[string]any{"out_request_no": "re_3", "amount": 1, "currency": "USD"}, 200, RefundFailed, FailureCurrencyMismatch, 300},
		{"the rest", "pay_r", map[string]any{"out_request_no": "re_4", "amount": 700, "currency": "CNY"}, 200, RefundSuccess, "", 1000},
		{"one more", "pay_r", map[string]any{"out_request_no": "re_5", "amount": 1}, 200, RefundFailed, FailureRefundExceedsCharge, 1000},
		{"same id, other trade", "pay_unpaid", map[string]any{"out_request_no": "re_4", "amount": 700}, 409, "", "", 0},
		{"unpaid trade", "pay_unpaid", map[string]any{"out_request_no": "re_6", "amount": 1}, 200, RefundFailed, FailureTradeNotPaid, 0},
		{"unknown trade", "pay_none", map[string]any{"out_request_no": "re_7", "amount": 1}, 404, "", "", -1},
		{"zero amount", "pay_r", map[string]any{"out_request_no": "re_8", "amount": 0}, 400, "", "", 1000},
	}
	ids := map[string]string{}
	for _, st := range steps {
		code, rf, eb := e.walletRefund(ProviderWxpay, st.trade, st.body)
		if code != st.code || rf.Status != st.status || rf.FailureCode != st.failureCode {
			t.Fatalf("%s: %d %+v %+v, want %d %s/%q", st.name, code, rf, eb, st.code, st.status, st.failureCode)
		}
		if code == 200 {
			id := st.body["out_request_no"].(string)
			if prev, ok := ids[id]; ok && prev != rf.RefundID {
				t.Fatalf("%s: refund_id %s, first %s", st.name, rf.RefundID, prev)
			}
			ids[id] = rf.RefundID
			if rf.OutTradeNo != st.trade || rf.Amount != int64(st.body["amount"].(int)) || rf.TradeNo == "" {
				t.Fatalf("%s: %+v", st.name, rf)
			}
		}
		if st.refunded >= 0 {
			if q := e.queryTrade(ProviderWxpay, st.trade); q.RefundedAmount != st.refunded {
				t.Fatalf("%s: refunded_amount %d, want %d", st.name, q.RefundedAmount, st.refunded)
			}
		}
	}
	if q := e.queryTrade(ProviderWxpay, "pay_r"); q.Status != TradeRefund || q.PaidAmount != 1000 {
		t.Fatalf("refunded trade: %+v", q)
	}
	code, raw := e.do(http.MethodGet, "/wxpaysim/refunds/re_4", nil)
	if rf := decodeAs[WalletRefund](t, raw); code != 200 || rf.RefundID != ids["re_4"] || rf.Status != RefundSuccess {
		t.Fatalf("GET refund: %d %s", code, raw)
	}
	if code, raw := e.do(http.MethodGet, "/wxpaysim/refunds/re_7", nil); code != 404 || decodeAs[errorBody](t, raw).Error != ErrCodeNotFound {
		t.Fatalf("GET unknown refund: %d %s", code, raw)
	}
	// Refunds are per provider: alipaysim knows neither the trade nor the refund.
	if code, _, _ := e.walletRefund(ProviderAlipay, "pay_r", map[string]any{"out_request_no": "re_1", "amount": 300}); code != 404 {
		t.Fatalf("refund at the other provider: %d", code)
	}
	for id, n := range map[string]int64{"re_1": 1, "re_4": 1, "re_2": 0} {
		if got := e.executions(id); got != n {
			t.Errorf("executions of %s = %d, want %d", id, got, n)
		}
	}
}

func TestWalletNotifications(t *testing.T) {
	rc := newReceiver(t, http.StatusInternalServerError) // the first delivery fails
	cfg := Config{
		CallbackSecret: "bank_secret",
		Wallets: map[string]WalletConfig{
			ProviderAlipay: {NotifySecret: "ali_secret"},
			ProviderWxpay:  {NotifySecret: "wx_secret", DefaultNotifyURL: rc.srv.URL + "/wx"},
		},
	}
	e := newEnv(t, cfg, fastRetries)
	secret := map[string]string{ProviderAlipay: "ali_secret", ProviderWxpay: "wx_secret"}

	body := payBody("pay_n1", walletCode(26, 1, 0), 250)
	body["notify_url"] = rc.srv.URL + "/ali"
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", body)
	e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_n2", walletCode(14, 1, 0), 90)) // the default URL
	if code, _, _ := e.walletRefund(ProviderWxpay, "pay_n2", map[string]any{"out_request_no": "re_n2", "amount": 40}); code != 200 {
		t.Fatalf("refund: %d", code)
	}
	// A trade neither paid nor refunded is not notified.
	e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_n3", 5))

	eventually(t, "three notifications delivered", func() bool {
		for _, ref := range []string{"pay_n1", "pay_n2", "re_n2"} {
			if s := e.callbackStates(ref); len(s) != 1 || s[0] != cbDelivered {
				return false
			}
		}
		return true
	})
	events := map[string]WalletNotification{}
	ids := map[string]map[string]bool{} // event ids seen per event
	for _, cb := range rc.received() {
		n := decodeAs[WalletNotification](t, cb.body)
		if err := VerifyCallback(secret[n.Provider], cb.signature, cb.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("%s notification signature: %v", n.Provider, err)
		}
		if VerifyCallback("bank_secret", cb.signature, cb.body, time.Now(), time.Minute) == nil {
			t.Fatalf("a %s notification verifies with the bank's secret", n.Provider)
		}
		key := n.EventType + " " + n.Provider
		events[key] = n
		if ids[key] == nil {
			ids[key] = map[string]bool{}
		}
		ids[key][n.EventID] = true
	}
	if len(rc.received()) != 4 {
		t.Fatalf("received %d notifications, want 4 (one retried)", len(rc.received()))
	}
	for key, set := range ids {
		if len(set) != 1 {
			t.Fatalf("%s: event ids %v, want one (a retry keeps its id)", key, set)
		}
	}
	if n := events["trade.paid alipaysim"]; n.Trade == nil || n.Trade.OutTradeNo != "pay_n1" || n.Trade.Status != TradeSuccess || n.Trade.PaidAmount != 250 || !strings.HasPrefix(n.EventID, "wne_") {
		t.Fatalf("alipaysim trade.paid: %+v", n)
	}
	if n := events["trade.paid wxpaysim"]; n.Trade == nil || n.Trade.OutTradeNo != "pay_n2" {
		t.Fatalf("wxpaysim trade.paid: %+v", n)
	}
	if n := events["refund.succeeded wxpaysim"]; n.Refund == nil || n.Refund.OutRequestNo != "re_n2" || n.Refund.Amount != 40 ||
		n.Trade == nil || n.Trade.Status != TradeRefund || n.Trade.RefundedAmount != 40 {
		t.Fatalf("wxpaysim refund.succeeded: %+v", n)
	}
	if s := e.callbackStates("pay_n3"); len(s) != 0 {
		t.Fatalf("unpaid trade notified: %v", s)
	}
}

func TestCheckoutPage(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{Wallets: map[string]WalletConfig{ProviderWxpay: {DefaultNotifyURL: rc.srv.URL}}})
	tr := e.okTrade(http.MethodPost, "/wxpaysim/trades", createBody("pay_web", 4200))
	if tr.CheckoutURL != e.http.URL+"/wxpaysim/checkout/"+tr.TradeNo {
		t.Fatalf("checkout_url %q", tr.CheckoutURL)
	}
	page := func(resp *http.Response) string {
		t.Helper()
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("content type %q", ct)
		}
		return string(b)
	}
	resp, err := http.Get(tr.CheckoutURL)
	if err != nil {
		t.Fatal(err)
	}
	before := page(resp)
	if resp.StatusCode != 200 || !strings.Contains(before, `<button type="submit" id="pay">Pay</button>`) ||
		!strings.Contains(before, `action="/wxpaysim/checkout/`+tr.TradeNo+`"`) || !strings.Contains(before, "4200 CNY") ||
		!strings.Contains(before, "WAIT_BUYER_PAY") {
		t.Fatalf("checkout page %d:\n%s", resp.StatusCode, before)
	}
	// Pressing Pay posts the form; the browser follows the 303 back to the page.
	resp, err = http.PostForm(tr.CheckoutURL, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	after := page(resp)
	if resp.StatusCode != 200 || resp.Request.Method != http.MethodGet || strings.Contains(after, `id="pay"`) ||
		!strings.Contains(after, "SUCCESS") || !strings.Contains(after, "Paid.") {
		t.Fatalf("after Pay %d:\n%s", resp.StatusCode, after)
	}
	if q := e.queryTrade(ProviderWxpay, "pay_web"); q.Status != TradeSuccess || q.PaidAmount != 4200 {
		t.Fatalf("query: %+v", q)
	}
	eventually(t, "the notification", func() bool { return len(rc.received()) == 1 })
	// Pressing again (a second tab) changes nothing.
	resp, err = http.PostForm(tr.CheckoutURL, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if page(resp); resp.StatusCode != 200 || e.executions("pay_web") != 1 {
		t.Fatalf("second press: %d, executions %d", resp.StatusCode, e.executions("pay_web"))
	}
	// A closed trade's page has no button, and a press is refused.
	closed := e.okTrade(http.MethodPost, "/wxpaysim/trades", createBody("pay_shut", 1))
	e.okTrade(http.MethodPost, "/wxpaysim/trades/pay_shut/close", nil)
	resp, err = http.PostForm(closed.CheckoutURL, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	if p := page(resp); resp.StatusCode != http.StatusConflict || strings.Contains(p, `id="pay"`) || !strings.Contains(p, "can no longer be paid") {
		t.Fatalf("press on a closed trade %d:\n%s", resp.StatusCode, p)
	}
	// The other provider does not know the trade number.
	resp, err = http.Get(e.http.URL + "/alipaysim/checkout/" + tr.TradeNo)
	if err != nil {
		t.Fatal(err)
	}
	if page(resp); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("other provider's checkout: %d", resp.StatusCode)
	}
	// The admin route confirms a USERPAYING code as the button does.
	up := e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_admin", walletCode(15, 1, 2), 10))
	if code, got, eb := e.adminPay(ProviderWxpay, up.TradeNo); code != 200 || got.Status != TradeSuccess {
		t.Fatalf("admin pay: %d %+v %+v", code, got, eb)
	}
	if code, _, eb := e.adminPay("paypal", up.TradeNo); code != 400 || eb.Error != ErrCodeInvalidRequest {
		t.Fatalf("admin pay at an unknown provider: %d %+v", code, eb)
	}
	if code, _, eb := e.adminPay(ProviderWxpay, "wx_unknown"); code != 404 || eb.Error != ErrCodeNotFound {
		t.Fatalf("admin pay of an unknown trade: %d %+v", code, eb)
	}
}

func TestWalletStatement(t *testing.T) {
	clock := &fakeClock{}
	day := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock.Set(day)
	e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })
	at := func(sec int) { clock.Set(day.Add(time.Duration(sec) * time.Second)) }

	at(0)
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_a1", walletCode(25, 1, 0), 1000))
	at(1)
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_a2", walletCode(25, 2, 3), 200))
	at(2)
	e.walletRefund(ProviderAlipay, "pay_a1", map[string]any{"out_request_no": "re_a1", "amount": 100})
	at(3)
	tr := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_a3", 300))
	e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_a4", 400)) // never paid: no line
	at(4)
	e.adminPay(ProviderAlipay, tr.TradeNo)
	at(5)
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay_a3/cancel", nil)
	e.okTrade(http.MethodPost, "/wxpaysim/trades/pay", payBody("pay_w1", walletCode(10, 1, 0), 50))
	e.transfer("/v1/charges", charge("pay_b1", TokenSuccess, 70))
	clock.Set(time.Date(2026, 12, 4, 0, 0, 1, 0, time.UTC))
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_next", walletCode(25, 3, 0), 9))

	ts := func(sec int) string { return day.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }
	want := [][]string{
		{"pay_a1", "charge", "1000", "CNY", "succeeded", ts(0)},
		{"pay_a2", "charge", "200", "CNY", "failed", ts(1)},
		{"re_a1", "refund", "100", "CNY", "succeeded", ts(2)},
		{"pay_a3", "charge", "300", "CNY", "succeeded", ts(4)},
		{"rev_pay_a3", "refund", "300", "CNY", "succeeded", ts(5)},
	}
	code, lines := e.statement("alipaysim-2026-12-03.csv")
	if code != 200 || fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("alipaysim statement %d:\n got %v\nwant %v", code, lines, want)
	}
	if _, lines := e.statement("wxpaysim-2026-12-03.csv"); fmt.Sprint(lines) != fmt.Sprint([][]string{{"pay_w1", "charge", "50", "CNY", "succeeded", ts(5)}}) {
		t.Fatalf("wxpaysim statement: %v", lines)
	}
	// The bank's own statement lists its transfers only.
	if _, lines := e.statement("banksim-2026-12-03.csv"); len(lines) != 1 || lines[0][0] != "pay_b1" {
		t.Fatalf("banksim statement: %v", lines)
	}
	if _, lines := e.statement("alipaysim-2026-12-04.csv"); len(lines) != 1 || lines[0][0] != "pay_next" {
		t.Fatalf("next day: %v", lines)
	}
	if code, _ := e.statement("paypal-2026-12-03.csv"); code != http.StatusNotFound {
		t.Fatalf("unknown channel's statement: %d", code)
	}
	// Balances per channel: alipaysim took 1000+300, gave back 100+300.
	balances := func(query string) []DayBalance {
		code, raw := e.do(http.MethodGet, "/sim/statements/2026-12-03/balances"+query, nil)
		if code != 200 {
			t.Fatalf("balances%s: %d %s", query, code, raw)
		}
		return decodeAs[[]DayBalance](t, raw)
	}
	if b := balances("?channel=alipaysim"); len(b) != 1 || b[0] != (DayBalance{Currency: "CNY", Opening: 0, Closing: 900}) {
		t.Fatalf("alipaysim balances: %+v", b)
	}
	if b := balances(""); len(b) != 1 || b[0] != (DayBalance{Currency: "CNY", Opening: 0, Closing: 70}) {
		t.Fatalf("banksim balances: %+v", b)
	}
	if code, _ := e.do(http.MethodGet, "/sim/statements/2026-12-03/balances?channel=paypal", nil); code != 404 {
		t.Fatalf("unknown channel's balances: %d", code)
	}
	// A line planted in a provider's statement appears there only.
	if code, raw := e.do(http.MethodPost, "/sim/statement/inject", `{"date":"2026-12-03","reference":"pay_ghost","kind":"charge",
		"amount":5,"currency":"CNY","status":"succeeded","channel":"wxpaysim"}`); code != 200 {
		t.Fatalf("inject: %d %s", code, raw)
	}
	if _, lines := e.statement("wxpaysim-2026-12-03.csv"); len(lines) != 2 || lines[1][0] != "pay_ghost" {
		t.Fatalf("wxpaysim statement after inject: %v", lines)
	}
	if _, lines := e.statement("banksim-2026-12-03.csv"); len(lines) != 1 {
		t.Fatalf("banksim statement after inject: %v", lines)
	}
	// A provider's line can be misreported like the bank's.
	if code, raw := e.do(http.MethodPost, "/sim/statement/alter", `{"reference":"rev_pay_a3","amount":299}`); code != 200 {
		t.Fatalf("alter: %d %s", code, raw)
	}
	if _, lines := e.statement("alipaysim-2026-12-03.csv"); lines[4][0] != "rev_pay_a3" || lines[4][2] != "299" {
		t.Fatalf("altered line: %v", lines[4])
	}
	if code, _ := e.do(http.MethodPost, "/sim/statement/alter", `{"reference":"pay_a4","amount":1}`); code != 404 {
		t.Fatalf("alter of a trade never paid: %d", code)
	}
	if code, _ := e.do(http.MethodPost, "/sim/statement/inject", `{"date":"2026-12-03","reference":"x","channel":"paypal"}`); code != 400 {
		t.Fatalf("inject into an unknown channel: %d", code)
	}
}

func TestWalletTradesSurviveRestart(t *testing.T) {
	clock := &fakeClock{}
	clock.Set(time.Now())
	rc := newReceiver(t)
	cfg := Config{Wallets: map[string]WalletConfig{ProviderAlipay: {DefaultNotifyURL: rc.srv.URL}}}
	e := newEnv(t, cfg, func(s *Server) { s.now = clock.Now })
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_keep", walletCode(27, 1, 1), 120))
	qr := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_qr", 60))

	e.restart(cfg, func(s *Server) { s.now = clock.Now })
	if q := e.queryTrade(ProviderAlipay, "pay_keep"); q.Status != TradeUserPaying {
		t.Fatalf("after restart: %+v", q)
	}
	// The confirmation due while the simulator was down happens after it.
	clock.Set(clock.Now().Add(5 * time.Second))
	kick(e.srv.wakeComplete)
	eventually(t, "the confirmation after the restart", func() bool { return e.queryTrade(ProviderAlipay, "pay_keep").Status == TradeSuccess })
	eventually(t, "its notification", func() bool { return len(rc.received()) == 1 })
	if code, got, _ := e.adminPay(ProviderAlipay, qr.TradeNo); code != 200 || got.Status != TradeSuccess {
		t.Fatalf("pay of a trade created before the restart: %d %+v", code, got)
	}
	// The code stays used.
	if tr := e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_again", walletCode(27, 1, 1), 120)); tr.FailureCode != FailureCodeUsed {
		t.Fatalf("code after restart: %+v", tr)
	}
}

func TestWalletFaults(t *testing.T) {
	e := newEnv(t, Config{})
	tr := e.okTrade(http.MethodPost, "/alipaysim/trades", createBody("pay_f", 10))
	e.setFaults(map[string]any{"down": true})
	for _, req := range []struct{ method, path string }{
		{http.MethodPost, "/alipaysim/trades/pay"},
		{http.MethodGet, "/alipaysim/trades/pay_f"},
		{http.MethodPost, "/wxpaysim/trades/pay_f/cancel"},
		{http.MethodPost, "/wxpaysim/trades"},
	} {
		code, raw := e.do(req.method, req.path, payBody("pay_down", walletCode(28, 1, 0), 10))
		if code != http.StatusServiceUnavailable || decodeAs[errorBody](t, raw).Error != ErrCodeBankUnavailable {
			t.Fatalf("%s %s while down: %d %s", req.method, req.path, code, raw)
		}
	}
	// The customer's side and the admin routes are not subject to faults.
	if code, _, _ := e.adminPay(ProviderAlipay, tr.TradeNo); code != 200 {
		t.Fatalf("admin pay while down: %d", code)
	}
	e.setFaults(map[string]any{"refuse_cancel": true})
	if code, _, _ := e.wallet(http.MethodGet, "/alipaysim/trades/pay_down", nil); code != http.StatusNotFound {
		t.Fatalf("a trade refused while down exists: %d", code)
	}
	e.okTrade(http.MethodPost, "/alipaysim/trades/pay", payBody("pay_rc", walletCode(28, 2, 2), 10))
	code, _, eb := e.wallet(http.MethodPost, "/alipaysim/trades/pay_rc/cancel", nil)
	if code != http.StatusConflict || eb.Error != ErrCodeNotCancelable {
		t.Fatalf("cancel with refuse_cancel: %d %+v", code, eb)
	}
	if q := e.queryTrade(ProviderAlipay, "pay_rc"); q.Status != TradeUserPaying {
		t.Fatalf("after a refused cancel: %+v", q)
	}
}
