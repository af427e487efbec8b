package callbacks

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/wallet"
	"github.com/payflow/payflow/models"
)

var walletNow = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

// notification is a provider's notification body as the simulator writes it.
func notification(t *testing.T, n banksim.WalletNotification) []byte {
	t.Helper()
	b, err := json.Marshal(n)
	require.NoError(t, err)
	return b
}

func signed(secret string, at time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(BanksimSignatureHeader, banksim.SignCallback(secret, at.Unix(), body))
	return h
}

func TestWalletVerify(t *testing.T) {
	paid := notification(t, banksim.WalletNotification{
		EventID: "wne_1", EventType: banksim.EventTradePaid, Provider: banksim.ProviderAlipay,
		Trade: &banksim.WalletTrade{OutTradeNo: "pay_1", Status: banksim.TradeSuccess, Amount: 100, Currency: "CNY"},
	})
	refunded := notification(t, banksim.WalletNotification{
		EventID: "wne_2", EventType: banksim.EventRefundSucceeded, Provider: banksim.ProviderAlipay,
		Trade:  &banksim.WalletTrade{OutTradeNo: "pay_1", Status: banksim.TradeRefund},
		Refund: &banksim.WalletRefund{OutRequestNo: "re_1", OutTradeNo: "pay_1", Status: banksim.RefundSuccess},
	})
	wxPaid := notification(t, banksim.WalletNotification{
		EventID: "wne_3", EventType: banksim.EventTradePaid, Provider: banksim.ProviderWxpay,
		Trade: &banksim.WalletTrade{OutTradeNo: "pay_2", Status: banksim.TradeSuccess},
	})
	const secret = "alipaysim_notify_secret"
	ali := Wallet{Provider: wallet.Alipay, Secret: secret}
	tests := []struct {
		name    string
		v       Wallet
		header  http.Header
		body    []byte
		want    models.BankCallback
		wantErr error
	}{
		{"trade paid", ali, signed(secret, walletNow, paid), paid,
			models.BankCallback{Reference: "pay_1", Channel: wallet.Alipay, Status: models.BankSucceeded, EventID: "wne_1"}, nil},
		{"refund succeeded", ali, signed(secret, walletNow, refunded), refunded,
			models.BankCallback{Reference: "re_1", Channel: wallet.Alipay, Status: models.BankSucceeded, EventID: "wne_2"}, nil},
		{"signed with another provider's secret", ali, signed("wxpaysim_notify_secret", walletNow, paid), paid, models.BankCallback{}, ErrSignature},
		{"the bank's secret", ali, signed(banksim.DefaultCallbackSecret, walletNow, paid), paid, models.BankCallback{}, ErrSignature},
		{"unsigned", ali, http.Header{}, paid, models.BankCallback{}, ErrSignature},
		{"stale", ali, signed(secret, walletNow.Add(-10*time.Minute), paid), paid, models.BankCallback{}, ErrSignature},
		{"a body other than the signed one", ali, signed(secret, walletNow, paid), refunded, models.BankCallback{}, ErrSignature},
		{"no secret configured", Wallet{Provider: wallet.Alipay}, signed("", walletNow, paid), paid, models.BankCallback{}, ErrSignature},
		{"another provider's notification on this route", ali, signed(secret, walletNow, wxPaid), wxPaid, models.BankCallback{}, ErrUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Verify(tt.header, tt.body, walletNow)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseWalletNotification(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    models.BankCallback
		wantErr error
	}{
		{"paid", `{"event_id":"e","event_type":"trade.paid","provider":"wxpaysim","trade":{"out_trade_no":"pay_1","status":"SUCCESS"}}`,
			models.BankCallback{Reference: "pay_1", Channel: wallet.Wxpay, Status: models.BankSucceeded, EventID: "e"}, nil},
		{"fields it adds are ignored", `{"event_id":"e","event_type":"trade.paid","provider":"wxpaysim","new":1,"trade":{"out_trade_no":"pay_1","status":"SUCCESS","x":[1]}}`,
			models.BankCallback{Reference: "pay_1", Channel: wallet.Wxpay, Status: models.BankSucceeded, EventID: "e"}, nil},
		{"a revoked trade claims canceled", `{"event_id":"e","event_type":"trade.paid","provider":"wxpaysim","trade":{"out_trade_no":"pay_1","status":"REVOKED"}}`,
			models.BankCallback{Reference: "pay_1", Channel: wallet.Wxpay, Status: models.BankCanceled, EventID: "e"}, nil},
		{"a failed refund", `{"event_id":"e","event_type":"refund.succeeded","provider":"wxpaysim","refund":{"out_request_no":"re_1","status":"FAILED","failure_code":"trade_not_paid"}}`,
			models.BankCallback{Reference: "re_1", Channel: wallet.Wxpay, Status: models.BankFailed, FailureCode: "trade_not_paid", EventID: "e"}, nil},
		{"another event type", `{"event_id":"e","event_type":"trade.closed","provider":"wxpaysim","trade":{"out_trade_no":"pay_1","status":"CLOSED"}}`,
			models.BankCallback{}, ErrIgnored},
		{"paid without a trade", `{"event_id":"e","event_type":"trade.paid","provider":"wxpaysim"}`, models.BankCallback{}, ErrUnreadable},
		{"refund without a refund", `{"event_id":"e","event_type":"refund.succeeded","provider":"wxpaysim","trade":{}}`, models.BankCallback{}, ErrUnreadable},
		{"an unknown status", `{"event_id":"e","event_type":"trade.paid","provider":"wxpaysim","trade":{"out_trade_no":"pay_1","status":"PAID"}}`, models.BankCallback{}, ErrUnreadable},
		{"no provider", `{"event_id":"e","event_type":"trade.paid","trade":{"out_trade_no":"pay_1","status":"SUCCESS"}}`, models.BankCallback{}, ErrUnreadable},
		{"not JSON", `trade.paid`, models.BankCallback{}, ErrUnreadable},
		{"a JSON array", `[]`, models.BankCallback{}, ErrUnreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWalletNotification(wallet.Wxpay, []byte(tt.body))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// Every configured wallet provider gets its own route, verified with its own secret.
func TestForChannelsWallets(t *testing.T) {
	got := ForChannels([]string{"alipaysim", "auto", "banksim", "wxpaysim"}, Secrets{
		Banksim: "b", Wallets: map[string]string{"alipaysim": "a", "wxpaysim": "w"},
	})
	require.Equal(t, []Verifier{
		Wallet{Provider: "alipaysim", Secret: "a"}, Banksim{Secret: "b"}, Wallet{Provider: "wxpaysim", Secret: "w"},
	}, got)
}

// The real simulator's notification, delivered to a receiver with the
// provider's secret, reads as a callback about our payment.
func TestWalletNotificationFromTheSimulator(t *testing.T) {
	received := make(chan models.BankCallback, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cb, err := Wallet{Provider: wallet.Wxpay, Secret: "wx-secret"}.Verify(r.Header, body, time.Now())
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		received <- cb
	}))
	t.Cleanup(receiver.Close)

	l := logrus.New()
	l.SetOutput(io.Discard)
	srv, err := banksim.New(banksim.Config{
		DBPath: filepath.Join(t.TempDir(), "banksim.db"), Logger: logrus.NewEntry(l),
		Wallets: map[string]banksim.WalletConfig{banksim.ProviderWxpay: {NotifySecret: "wx-secret", DefaultNotifyURL: receiver.URL}},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv.Start(ctx)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		cancel()
		srv.Close()
	})
	ch := wallet.New(wallet.Wxpay, ts.URL, "", 5*time.Second)
	tr, err := ch.Charge(context.Background(), bank.ChargeRequest{Reference: "pay_sim1", Amount: 700, Currency: "CNY", Token: "130000000000000010"})
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, tr.Status)

	select {
	case cb := <-received:
		require.Equal(t, "pay_sim1", cb.Reference)
		require.Equal(t, wallet.Wxpay, cb.Channel)
		require.Equal(t, models.BankSucceeded, cb.Status)
		require.NotEmpty(t, cb.EventID)
	case <-time.After(30 * time.Second):
		t.Fatal("no notification delivered")
	}
}

// Whatever the body, the parser answers a callback of the route's channel with a
// status of the channel contract, or ErrUnreadable or ErrIgnored; it never panics.
func FuzzWalletNotification(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"e","event_type":"trade.paid","provider":"alipaysim","trade":{"out_trade_no":"pay_1","status":"SUCCESS"}}`,
		`{"event_id":"e","event_type":"refund.succeeded","provider":"alipaysim","refund":{"out_request_no":"re_1","status":"FAILED","failure_code":"x"}}`,
		`{"event_type":"trade.paid","provider":"alipaysim","trade":null}`,
		`{"event_type":"x"}`, `null`, `[]`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cb, err := ParseWalletNotification(wallet.Alipay, body)
		if err != nil {
			if !errorsIsAny(err, ErrUnreadable, ErrIgnored) {
				t.Fatalf("error outside the contract: %v", err)
			}
			return
		}
		if cb.Channel != wallet.Alipay {
			t.Fatalf("channel %q", cb.Channel)
		}
		switch cb.Status {
		case models.BankSucceeded, models.BankProcessing, models.BankCanceled:
			if cb.FailureCode != "" {
				t.Fatalf("failure code %q with status %s", cb.FailureCode, cb.Status)
			}
		case models.BankFailed:
		default:
			t.Fatalf("status %q", cb.Status)
		}
	})
}

func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
