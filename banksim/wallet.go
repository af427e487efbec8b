package banksim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Wallet provider names: the channels of in-store payments, served under
// /{provider}/... by the same process as the bank.
const (
	ProviderAlipay = "alipaysim"
	ProviderWxpay  = "wxpaysim"
)

// walletProvider is one simulated wallet provider.
type walletProvider struct {
	name string
	// lo and hi bound the two-digit prefixes of its payment codes.
	lo, hi int
	// tradePrefix starts its trade numbers.
	tradePrefix string
}

// walletProviders are the simulated providers, modelled on the face-to-face
// APIs of Alipay (codes 25-30) and WeChat Pay micropay (codes 10-15).
var walletProviders = []walletProvider{
	{name: ProviderAlipay, lo: 25, hi: 30, tradePrefix: "ali_"},
	{name: ProviderWxpay, lo: 10, hi: 15, tradePrefix: "wx_"},
}

func findProvider(name string) (walletProvider, bool) {
	for _, p := range walletProviders {
		if p.name == name {
			return p, true
		}
	}
	return walletProvider{}, false
}

// TradeStatus is where a wallet trade stands. SUCCESS and REFUND hold the
// customer's money; CLOSED, REVOKED and PAYERROR are final and hold none.
type TradeStatus string

// Statuses of a wallet trade.
const (
	// TradeWaitBuyerPay is a trade created for a QR code, not paid yet.
	TradeWaitBuyerPay TradeStatus = "WAIT_BUYER_PAY"
	// TradeUserPaying is a payment code waiting for the customer to confirm
	// in the app.
	TradeUserPaying TradeStatus = "USERPAYING"
	// TradeSuccess is a paid trade.
	TradeSuccess TradeStatus = "SUCCESS"
	// TradeRefund is a paid trade with at least one refund.
	TradeRefund TradeStatus = "REFUND"
	// TradeClosed is a trade closed before it was paid.
	TradeClosed TradeStatus = "CLOSED"
	// TradeRevoked is a cancelled trade: never paid, or paid and reversed
	// (reversed_amount says how much went back).
	TradeRevoked TradeStatus = "REVOKED"
	// TradePayError is a payment code the provider refused (failure_code).
	TradePayError TradeStatus = "PAYERROR"
)

// paid reports whether the trade holds the customer's money.
func (s TradeStatus) paid() bool { return s == TradeSuccess || s == TradeRefund }

// open reports whether the trade may still be paid.
func (s TradeStatus) open() bool { return s == TradeWaitBuyerPay || s == TradeUserPaying }

// Trade modes: how the trade came to be.
const (
	ModeQR   = "qr"   // POST /{provider}/trades: the customer scans and pays at the checkout
	ModeCode = "code" // POST /{provider}/trades/pay: the merchant scans the customer's code
)

// Failure codes of wallet trades and refunds (besides insufficient_funds,
// refund_exceeds_charge and currency_mismatch, shared with the bank).
const (
	FailureCodeUsed     = "code_used"
	FailureCodeExpired  = "code_expired"
	FailureTradeNotPaid = "trade_not_paid"
)

// Error codes of the wallet API (besides the bank's).
const (
	ErrCodeAlreadyPaid     = "already_paid"
	ErrCodeTradeNotPayable = "trade_not_payable"
)

// WalletTrade is a provider's answer about one trade, and part of its
// notifications.
type WalletTrade struct {
	Provider       string      `json:"provider"`
	TradeNo        string      `json:"trade_no"`
	OutTradeNo     string      `json:"out_trade_no"`
	Mode           string      `json:"mode"`
	Amount         int64       `json:"amount"`
	Currency       string      `json:"currency"`
	Status         TradeStatus `json:"status"`
	FailureCode    string      `json:"failure_code"`
	PaidAmount     int64       `json:"paid_amount"`
	RefundedAmount int64       `json:"refunded_amount"`
	ReversedAmount int64       `json:"reversed_amount"`
	CheckoutURL    string      `json:"checkout_url,omitempty"`
	CreatedAt      time.Time   `json:"created_at"`
	PaidAt         *time.Time  `json:"paid_at,omitempty"`
	EndedAt        *time.Time  `json:"ended_at,omitempty"`
}

// tombstone reports whether t is the record of a cancel of an out_trade_no
// the provider had never seen.
func (t WalletTrade) tombstone() bool { return t.Mode == "" }

// tradeRow is a wallet_trades row: the trade and what the provider keeps.
type tradeRow struct {
	WalletTrade
	AuthCode  string
	NotifyURL string
	ConfirmAt *time.Time
}

// WalletRefund is a provider's answer about one refund.
type WalletRefund struct {
	Provider     string    `json:"provider"`
	RefundID     string    `json:"refund_id"`
	OutRequestNo string    `json:"out_request_no"`
	OutTradeNo   string    `json:"out_trade_no"`
	TradeNo      string    `json:"trade_no"`
	Amount       int64     `json:"amount"`
	Currency     string    `json:"currency"`
	Status       string    `json:"status"`
	FailureCode  string    `json:"failure_code"`
	CreatedAt    time.Time `json:"created_at"`
}

// Refund statuses.
const (
	RefundSuccess = "SUCCESS"
	RefundFailed  = "FAILED"
)

const tradeColumns = `provider, trade_no, out_trade_no, mode, amount, currency, status, failure_code,
	paid_amount, refunded_amount, reversed_amount, created_at, paid_at, ended_at,
	auth_code, notify_url, confirm_at`

func scanTrade(sc rowScanner) (tradeRow, error) {
	var (
		t                      tradeRow
		created                int64
		paid, ended, confirmAt sql.NullInt64
	)
	err := sc.Scan(&t.Provider, &t.TradeNo, &t.OutTradeNo, &t.Mode, &t.Amount, &t.Currency, &t.Status, &t.FailureCode,
		&t.PaidAmount, &t.RefundedAmount, &t.ReversedAmount, &created, &paid, &ended,
		&t.AuthCode, &t.NotifyURL, &confirmAt)
	if err != nil {
		return tradeRow{}, err
	}
	t.CreatedAt = fromNanos(created)
	t.PaidAt = optTime(paid)
	t.EndedAt = optTime(ended)
	t.ConfirmAt = optTime(confirmAt)
	return t, nil
}

func optTime(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromNanos(n.Int64)
	return &t
}

func optNanos(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// getTrade returns the provider's trade of outTradeNo; found is false when
// the provider has never seen it.
func getTrade(ctx context.Context, q querier, provider, outTradeNo string) (t tradeRow, found bool, err error) {
	t, err = scanTrade(q.QueryRowContext(ctx, `SELECT `+tradeColumns+` FROM wallet_trades
		WHERE provider = ? AND out_trade_no = ?`, provider, outTradeNo))
	if errors.Is(err, sql.ErrNoRows) {
		return tradeRow{}, false, nil
	}
	if err != nil {
		return tradeRow{}, false, fmt.Errorf("get %s trade %s: %w", provider, outTradeNo, err)
	}
	return t, true, nil
}

// getTradeByNo returns the provider's trade numbered tradeNo.
func getTradeByNo(ctx context.Context, q querier, provider, tradeNo string) (t tradeRow, found bool, err error) {
	t, err = scanTrade(q.QueryRowContext(ctx, `SELECT `+tradeColumns+` FROM wallet_trades
		WHERE provider = ? AND trade_no = ?`, provider, tradeNo))
	if errors.Is(err, sql.ErrNoRows) {
		return tradeRow{}, false, nil
	}
	if err != nil {
		return tradeRow{}, false, fmt.Errorf("get %s trade number %s: %w", provider, tradeNo, err)
	}
	return t, true, nil
}

func insertTrade(ctx context.Context, tx *sql.Tx, t tradeRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wallet_trades (`+tradeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Provider, t.TradeNo, t.OutTradeNo, t.Mode, t.Amount, t.Currency, t.Status, t.FailureCode,
		t.PaidAmount, t.RefundedAmount, t.ReversedAmount, t.CreatedAt.UnixNano(), optNanos(t.PaidAt), optNanos(t.EndedAt),
		t.AuthCode, t.NotifyURL, optNanos(t.ConfirmAt))
	if err != nil {
		return fmt.Errorf("insert %s trade %s: %w", t.Provider, t.OutTradeNo, err)
	}
	return nil
}

// updateTrade writes t's changing columns.
func updateTrade(ctx context.Context, tx *sql.Tx, t tradeRow) error {
	_, err := tx.ExecContext(ctx, `UPDATE wallet_trades SET status = ?, failure_code = ?, paid_amount = ?,
		refunded_amount = ?, reversed_amount = ?, paid_at = ?, ended_at = ?, confirm_at = ?
		WHERE provider = ? AND out_trade_no = ?`,
		t.Status, t.FailureCode, t.PaidAmount, t.RefundedAmount, t.ReversedAmount,
		optNanos(t.PaidAt), optNanos(t.EndedAt), optNanos(t.ConfirmAt), t.Provider, t.OutTradeNo)
	if err != nil {
		return fmt.Errorf("update %s trade %s: %w", t.Provider, t.OutTradeNo, err)
	}
	return nil
}

// insertWalletLine writes a statement line of a provider's channel.
func insertWalletLine(ctx context.Context, tx *sql.Tx, provider, reference string, kind Kind, amount int64, currency string, status Status, at time.Time) error {
	at = at.UTC()
	_, err := tx.ExecContext(ctx, `INSERT INTO statement_lines (day, reference, kind, amount, currency, status, time, channel)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		at.Format(dayLayout), reference, kind, fmt.Sprint(amount), currency, status, at.Format(time.RFC3339), provider)
	if err != nil {
		return fmt.Errorf("write %s statement line of %s: %w", provider, reference, err)
	}
	return nil
}

// markPaid makes an open trade paid at now: the charge line of the
// provider's statement, an execution and the trade.paid notification.
func (s *Server) markPaid(ctx context.Context, tx *sql.Tx, t *tradeRow, now time.Time) error {
	t.Status, t.FailureCode = TradeSuccess, ""
	t.PaidAmount = t.Amount
	t.PaidAt, t.ConfirmAt = &now, nil
	if err := updateTrade(ctx, tx, *t); err != nil {
		return err
	}
	if err := insertWalletLine(ctx, tx, t.Provider, t.OutTradeNo, KindCharge, t.Amount, t.Currency, StatusSucceeded, now); err != nil {
		return err
	}
	if err := insertExecution(ctx, tx, t.OutTradeNo, KindCharge, now); err != nil {
		return err
	}
	nt := t.WalletTrade
	nt.CheckoutURL = checkoutURL(s.cfg.PublicURL, nt)
	return s.notify(ctx, tx, t.Provider, t.NotifyURL, t.OutTradeNo,
		WalletNotification{EventType: EventTradePaid, Provider: t.Provider, Trade: &nt}, now)
}

// ReversalReference is the statement reference of the money a cancel gave
// back for a paid trade: "rev_" and the out_trade_no, as payflow names the
// reversal of a charge.
func ReversalReference(outTradeNo string) string { return "rev_" + outTradeNo }

// checkoutURL is the checkout page of a QR trade, on base (the public URL).
func checkoutURL(base string, t WalletTrade) string {
	if t.Mode != ModeQR || base == "" {
		return ""
	}
	return base + "/" + t.Provider + "/checkout/" + t.TradeNo
}

// publicBase is the simulator's URL as the caller reached it.
func (s *Server) publicBase(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// withCheckout returns t with its checkout URL as the caller reaches it.
func (s *Server) withCheckout(r *http.Request, t WalletTrade) WalletTrade {
	t.CheckoutURL = checkoutURL(s.publicBase(r), t)
	return t
}

// validateCode checks a payment code of provider p: 18 digits with one of
// its prefixes.
func (p walletProvider) validateCode(code string) error {
	if len(code) != 18 || strings.Trim(code, "0123456789") != "" {
		return errors.New("auth_code must be 18 digits")
	}
	prefix := int(code[0]-'0')*10 + int(code[1]-'0')
	if prefix < p.lo || prefix > p.hi {
		return fmt.Errorf("auth_code is not a %s payment code (prefixes %d-%d)", p.name, p.lo, p.hi)
	}
	return nil
}
