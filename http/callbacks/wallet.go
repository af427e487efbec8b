package callbacks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/payflow/payflow/internal/bank/wallet"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/models"
)

// Wallet reads the notifications of one of the simulator's wallet providers
// (alipaysim, wxpaysim; docs/wallet-providers.md). They are signed like the bank
// simulator's callbacks (X-Banksim-Signature, t=UNIX,v1=HEX, the HMAC-SHA256 of
// t + "." + body) but each with its provider's own notify secret.
type Wallet struct {
	// Provider is the wallet provider's channel name (wallet.Alipay, wallet.Wxpay).
	Provider string
	// Secret is the provider's notify secret; empty verifies nothing.
	Secret string
	// Tolerance is how far the signature's timestamp may be from now; 0 is five
	// minutes.
	Tolerance time.Duration
}

// Channel implements Verifier.
func (w Wallet) Channel() string { return w.Provider }

// Verify implements Verifier.
func (w Wallet) Verify(h http.Header, body []byte, now time.Time) (models.BankCallback, error) {
	if w.Secret == "" {
		return models.BankCallback{}, fmt.Errorf("%w: no %s notify secret", ErrSignature, w.Provider)
	}
	tolerance := w.Tolerance
	if tolerance <= 0 {
		tolerance = defaultBanksimTolerance
	}
	if err := signing.VerifyWebhook(w.Secret, h.Get(BanksimSignatureHeader), body, now, tolerance); err != nil {
		return models.BankCallback{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	return ParseWalletNotification(w.Provider, body)
}

// Wallet notification event types.
const (
	walletEventTradePaid       = "trade.paid"
	walletEventRefundSucceeded = "refund.succeeded"
)

// walletNotification is the part of a provider's notification payflow reads.
type walletNotification struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Provider  string `json:"provider"`
	Trade     *struct {
		OutTradeNo  string `json:"out_trade_no"`
		Status      string `json:"status"`
		FailureCode string `json:"failure_code"`
	} `json:"trade"`
	Refund *struct {
		OutRequestNo string `json:"out_request_no"`
		Status       string `json:"status"`
		FailureCode  string `json:"failure_code"`
	} `json:"refund"`
}

// ParseWalletNotification reads a verified notification of provider: trade.paid
// is about the payment trade.out_trade_no, refund.succeeded about the refund
// refund.out_request_no, each with the status it claims (the channel's, as
// wallet.TradeStatus and wallet.RefundStatus map them). Another event type is
// ErrIgnored; a body that is not a notification of provider is ErrUnreadable.
func ParseWalletNotification(provider string, body []byte) (models.BankCallback, error) {
	var n walletNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return models.BankCallback{}, fmt.Errorf("%w: not a JSON notification", ErrUnreadable)
	}
	if n.Provider != provider {
		return models.BankCallback{}, fmt.Errorf("%w: a notification of %q on the route of %s", ErrUnreadable, n.Provider, provider)
	}
	cb := models.BankCallback{Channel: provider, EventID: n.EventID}
	var ok bool
	switch n.EventType {
	case walletEventTradePaid:
		if n.Trade == nil {
			return models.BankCallback{}, fmt.Errorf("%w: trade.paid without a trade", ErrUnreadable)
		}
		cb.Reference = n.Trade.OutTradeNo
		cb.Status, ok = wallet.TradeStatus(n.Trade.Status)
		if cb.Status == models.BankFailed {
			cb.FailureCode = models.FailureCode(n.Trade.FailureCode)
		}
	case walletEventRefundSucceeded:
		if n.Refund == nil {
			return models.BankCallback{}, fmt.Errorf("%w: refund.succeeded without a refund", ErrUnreadable)
		}
		cb.Reference = n.Refund.OutRequestNo
		cb.Status, ok = wallet.RefundStatus(n.Refund.Status)
		if cb.Status == models.BankFailed {
			cb.FailureCode = models.FailureCode(n.Refund.FailureCode)
		}
	default:
		return models.BankCallback{}, fmt.Errorf("%w: event type %q", ErrIgnored, n.EventType)
	}
	if !ok {
		return models.BankCallback{}, fmt.Errorf("%w: unknown status", ErrUnreadable)
	}
	return cb, nil
}
