// Package wallet is the channel adapter of the simulator's wallet providers,
// alipaysim and wxpaysim (docs/wallet-providers.md): one Channel per provider,
// spoken to over HTTP at the bank simulator's address as a real provider's
// face-to-face API would be.
//
// How the providers' answers meet the channel contract (internal/bank):
//
//   - A trade's out_trade_no is our payment id and a refund's out_request_no our
//     refund id: the provider's idempotency keys, as the contract requires.
//   - Trade statuses: SUCCESS and REFUND are succeeded (the trade was paid);
//     WAIT_BUYER_PAY and USERPAYING are processing (the customer has not paid or
//     confirmed yet); PAYERROR is failed with the provider's failure code
//     (insufficient_funds, code_expired, code_used); CLOSED and REVOKED are
//     canceled: the trade never pays from now on.
//   - Unlike a card bank's, a provider's cancel also reverses a trade that was
//     paid in the meantime: the trade becomes REVOKED, what it still held goes
//     back to the customer, and the provider's statement shows the reversal as a
//     refund line rev_<out_trade_no> (banksim.ReversalReference). So Cancel and
//     Query answer canceled for a revoked trade whether or not it had been paid;
//     QueryTrade tells the two apart (ReversedAmount).
//   - A provider pays out nothing: Payout is ErrInvalid.
package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// The wallet providers' channel names.
const (
	Alipay = "alipaysim"
	Wxpay  = "wxpaysim"
)

// Providers are the wallet providers' channel names (models.QRProviders').
var Providers = models.QRProviderChannels()

// IsProvider reports whether name is a wallet provider's channel.
func IsProvider(name string) bool { return models.IsQRProvider(name) }

// The provider's trade statuses (docs/wallet-providers.md).
const (
	StatusWaitBuyerPay = "WAIT_BUYER_PAY"
	StatusUserPaying   = "USERPAYING"
	StatusSuccess      = "SUCCESS"
	StatusRefund       = "REFUND"
	StatusClosed       = "CLOSED"
	StatusRevoked      = "REVOKED"
	StatusPayError     = "PAYERROR"
)

// Trade is a provider's answer about one trade.
type Trade struct {
	// Transfer is the trade as the channel contract sees it (Kind charge,
	// Reference the out_trade_no, BankID the provider's trade_no).
	Transfer bank.Transfer
	// Status is the provider's own status (StatusSuccess, ...).
	Status string
	// Mode is "qr" (CreateTrade) or "code" (Charge); empty for the record of a
	// cancel of a reference the provider had never seen.
	Mode string
	// PaidAmount is what the customer paid; RefundedAmount what refunds gave
	// back; ReversedAmount what a cancel of the paid trade gave back.
	PaidAmount     int64
	RefundedAmount int64
	ReversedAmount int64
	// CheckoutURL is the provider's checkout page of a QR trade (empty for a
	// payment code), where the customer pays.
	CheckoutURL string
}

// TradeChannel is a wallet provider's channel: the channel contract, the trades a
// QR code is paid through (bank.TradeChannel), balances, and the provider's own
// view of a trade.
type TradeChannel interface {
	bank.Channel
	bank.Balancer
	bank.TradeChannel
	// QueryTrade is Query for a trade, with the provider's details (its status,
	// what was paid, refunded and reversed). ErrNotFound, ErrUnavailable,
	// ErrUnknownOutcome.
	QueryTrade(ctx context.Context, reference string) (Trade, error)
}

// Channel talks to one wallet provider of a banksim server.
type Channel struct {
	name      string
	baseURL   string
	notifyURL string
	client    *http.Client
}

var _ TradeChannel = (*Channel)(nil)

// New returns the adapter of provider (Alipay or Wxpay) served by the simulator
// at baseURL; each call gives up after timeout (an unknown outcome). notifyURL
// is where the provider posts notifications of trades whose request names none.
func New(provider, baseURL, notifyURL string, timeout time.Duration) *Channel {
	return &Channel{
		name:      provider,
		baseURL:   strings.TrimRight(baseURL, "/"),
		notifyURL: notifyURL,
		client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     90 * time.Second,
			},
		},
	}
}

// Name implements bank.Channel.
func (c *Channel) Name() string { return c.name }

// tradeJSON is the provider's trade.
type tradeJSON struct {
	TradeNo        string `json:"trade_no"`
	OutTradeNo     string `json:"out_trade_no"`
	Mode           string `json:"mode"`
	Amount         int64  `json:"amount"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	FailureCode    string `json:"failure_code"`
	PaidAmount     int64  `json:"paid_amount"`
	RefundedAmount int64  `json:"refunded_amount"`
	ReversedAmount int64  `json:"reversed_amount"`
	CheckoutURL    string `json:"checkout_url"`
}

// refundJSON is the provider's refund.
type refundJSON struct {
	RefundID     string `json:"refund_id"`
	OutRequestNo string `json:"out_request_no"`
	Amount       int64  `json:"amount"`
	Currency     string `json:"currency"`
	Status       string `json:"status"`
	FailureCode  string `json:"failure_code"`
}

// TradeStatus maps a provider's trade status onto the channel's; ok is false
// for a status the provider does not document.
func TradeStatus(status string) (s models.BankStatus, ok bool) {
	switch status {
	case StatusSuccess, StatusRefund:
		return models.BankSucceeded, true
	case StatusWaitBuyerPay, StatusUserPaying:
		return models.BankProcessing, true
	case StatusPayError:
		return models.BankFailed, true
	case StatusClosed, StatusRevoked:
		return models.BankCanceled, true
	}
	return "", false
}

func (c *Channel) trade(t tradeJSON) (Trade, bool) {
	st, ok := TradeStatus(t.Status)
	if !ok {
		return Trade{}, false
	}
	tr := bank.Transfer{
		Reference: t.OutTradeNo, Channel: c.name, Kind: bank.KindCharge, Amount: t.Amount,
		Currency: models.Currency(t.Currency), Status: st, BankID: t.TradeNo,
	}
	if st == models.BankFailed {
		tr.FailureCode = models.FailureCode(t.FailureCode)
	}
	return Trade{
		Transfer: tr, Status: t.Status, Mode: t.Mode, PaidAmount: t.PaidAmount,
		RefundedAmount: t.RefundedAmount, ReversedAmount: t.ReversedAmount, CheckoutURL: t.CheckoutURL,
	}, true
}

// RefundStatus maps a provider's refund status onto the channel's.
func RefundStatus(status string) (s models.BankStatus, ok bool) {
	switch status {
	case "SUCCESS":
		return models.BankSucceeded, true
	case "FAILED":
		return models.BankFailed, true
	}
	return "", false
}

func (c *Channel) refund(r refundJSON) (bank.Transfer, bool) {
	st, ok := RefundStatus(r.Status)
	if !ok {
		return bank.Transfer{}, false
	}
	tr := bank.Transfer{
		Reference: r.OutRequestNo, Channel: c.name, Kind: bank.KindRefund, Amount: r.Amount,
		Currency: models.Currency(r.Currency), Status: st, BankID: r.RefundID,
	}
	if st == models.BankFailed {
		tr.FailureCode = models.FailureCode(r.FailureCode)
	}
	return tr, true
}

func (c *Channel) notify(u string) string {
	if u != "" {
		return u
	}
	return c.notifyURL
}

// Charge implements bank.Channel: the merchant scanned the customer's payment
// code (Token, 18 digits): POST /{provider}/trades/pay. SUCCESS is succeeded,
// USERPAYING processing (the customer must confirm in the app: query until it
// is decided, or Cancel), PAYERROR failed (insufficient_funds, code_expired,
// code_used). A code of another provider is ErrInvalid.
func (c *Channel) Charge(ctx context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	t, err := c.postTrade(ctx, "/trades/pay", r.Reference, map[string]any{
		"out_trade_no": r.Reference, "amount": r.Amount, "currency": r.Currency, "auth_code": r.Token,
		"notify_url": c.notify(r.CallbackURL),
	}, false)
	return t.Transfer, err
}

// CreateTrade implements bank.TradeChannel: POST /{provider}/trades, idempotent
// by r.Reference (again: the same trade), answering its checkout page. A
// reference the provider had cancelled (it never pays), or used for another
// trade, is ErrInvalid.
func (c *Channel) CreateTrade(ctx context.Context, r bank.TradeRequest) (string, error) {
	t, err := c.postTrade(ctx, "/trades", r.Reference, map[string]any{
		"out_trade_no": r.Reference, "amount": r.Amount, "currency": r.Currency, "notify_url": c.notify(r.CallbackURL),
	}, false)
	switch {
	case err != nil:
		return "", err
	case t.Mode == "":
		return "", fmt.Errorf("%s: create trade %s: the reference was cancelled and never pays: %w", c.name, r.Reference, bank.ErrInvalid)
	case t.CheckoutURL == "":
		return "", fmt.Errorf("%s: create trade %s: no checkout URL in the answer: %w", c.name, r.Reference, bank.ErrUnknownOutcome)
	}
	return t.CheckoutURL, nil
}

// CloseTrade implements bank.TradeChannel: POST
// /{provider}/trades/{reference}/close (a QR code that expired). An unpaid trade
// becomes CLOSED, canceled; a trade the customer paid first answers succeeded
// (the provider's 409 already_paid: the trade stays paid); a trade already final
// answers as it stands; a reference the provider never saw is ErrNotFound.
func (c *Channel) CloseTrade(ctx context.Context, reference string) (bank.Transfer, error) {
	t, err := c.postTrade(ctx, "/trades/"+url.PathEscape(reference)+"/close", reference, nil, true)
	return t.Transfer, err
}

// Cancel implements bank.Channel: POST /{provider}/trades/{reference}/cancel
// (trade.cancel, micropay's reverse). The provider answers REVOKED, which is
// canceled: an unpaid trade can no longer be paid, a paid one was reversed (its
// money went back, the statement shows rev_<reference>), and a reference the
// provider never saw is refused from now on. A trade already final is answered
// as it stands (failed for PAYERROR, canceled for CLOSED). 409 not_cancelable
// is ErrNotCancelable.
func (c *Channel) Cancel(ctx context.Context, reference string) (bank.Transfer, error) {
	t, err := c.postTrade(ctx, "/trades/"+url.PathEscape(reference)+"/cancel", reference, nil, false)
	return t.Transfer, err
}

// Refund implements bank.Channel: POST /{provider}/trades/{ChargeReference}/refund.
// SUCCESS is succeeded; FAILED is failed with the provider's failure code
// (trade_not_paid, refund_exceeds_charge, currency_mismatch). A refund of a trade
// the provider never saw stores nothing and is ErrInvalid.
func (c *Channel) Refund(ctx context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	b, err := json.Marshal(map[string]any{"out_request_no": r.Reference, "amount": r.Amount, "currency": r.Currency})
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("refund %s: %w: %w", r.Reference, bank.ErrInvalid, err)
	}
	req, err := c.request(ctx, http.MethodPost, "/trades/"+url.PathEscape(r.ChargeReference)+"/refund", b)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("refund %s: %w: %w", r.Reference, bank.ErrInvalid, err)
	}
	raw, status, err := c.do(req)
	if err != nil {
		return bank.Transfer{}, err
	}
	return c.refundAnswer(req, raw, status, r.Reference, false)
}

// Payout implements bank.Channel: a wallet provider pays out nothing.
func (c *Channel) Payout(_ context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return bank.Transfer{}, fmt.Errorf("payout %s: %w: %s pays out nothing", r.Reference, bank.ErrInvalid, c.name)
}

// Query implements bank.Channel: the trade with our reference (GET
// /{provider}/trades/{reference}) or else the refund (GET
// /{provider}/refunds/{reference}); a refund id (re_) is looked up as a refund
// first. ErrNotFound when the provider has neither.
func (c *Channel) Query(ctx context.Context, reference string) (bank.Transfer, error) {
	lookups := []func(context.Context, string) (bank.Transfer, error){c.queryTrade, c.queryRefund}
	if strings.HasPrefix(reference, "re_") {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	t, err := lookups[0](ctx, reference)
	if !errors.Is(err, bank.ErrNotFound) {
		return t, err
	}
	return lookups[1](ctx, reference)
}

func (c *Channel) queryTrade(ctx context.Context, reference string) (bank.Transfer, error) {
	t, err := c.QueryTrade(ctx, reference)
	return t.Transfer, err
}

// QueryTrade implements TradeChannel: GET /{provider}/trades/{reference}.
func (c *Channel) QueryTrade(ctx context.Context, reference string) (Trade, error) {
	req, err := c.request(ctx, http.MethodGet, "/trades/"+url.PathEscape(reference), nil)
	if err != nil {
		return Trade{}, fmt.Errorf("query %s: %w: %w", reference, bank.ErrInvalid, err)
	}
	raw, status, err := c.do(req)
	if err != nil {
		return Trade{}, err
	}
	return c.tradeAnswer(req, raw, status, reference, true)
}

func (c *Channel) queryRefund(ctx context.Context, reference string) (bank.Transfer, error) {
	req, err := c.request(ctx, http.MethodGet, "/refunds/"+url.PathEscape(reference), nil)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("query %s: %w: %w", reference, bank.ErrInvalid, err)
	}
	raw, status, err := c.do(req)
	if err != nil {
		return bank.Transfer{}, err
	}
	return c.refundAnswer(req, raw, status, reference, true)
}

// Statement implements bank.Channel: GET /sim/statements/{provider}-YYYY-MM-DD.csv.
func (c *Channel) Statement(ctx context.Context, day time.Time) (io.ReadCloser, error) {
	d := day.UTC().Format("2006-01-02")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/sim/statements/%s-%s.csv", c.baseURL, c.name, d), nil)
	if err != nil {
		return nil, err
	}
	// A statement may be large: no client timeout beyond the context's.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s statement %s: %w: %w", c.name, d, bank.ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("%s statement %s: %w: HTTP %d", c.name, d, bank.ErrUnavailable, resp.StatusCode)
	}
	return resp.Body, nil
}

// Balances implements bank.Balancer: the provider's opening and closing balances
// of the day (GET /sim/statements/{day}/balances?channel={provider}).
func (c *Channel) Balances(ctx context.Context, day time.Time) ([]bank.DayBalance, error) {
	d := day.UTC().Format("2006-01-02")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/sim/statements/"+d+"/balances?channel="+url.QueryEscape(c.name), nil)
	if err != nil {
		return nil, fmt.Errorf("%s balances %s: %w: %w", c.name, d, bank.ErrInvalid, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s balances %s: %w: %w", c.name, d, bank.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s balances %s: %w: HTTP %d", c.name, d, bank.ErrUnavailable, resp.StatusCode)
	}
	var body []struct {
		Currency string `json:"currency"`
		Opening  int64  `json:"opening"`
		Closing  int64  `json:"closing"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s balances %s: unreadable answer: %w: %w", c.name, d, bank.ErrUnavailable, err)
	}
	out := make([]bank.DayBalance, len(body))
	for i, b := range body {
		out[i] = bank.DayBalance{Currency: b.Currency, Opening: b.Opening, Closing: b.Closing}
	}
	return out, nil
}

func (c *Channel) request(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+"/"+c.name+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

func (c *Channel) postTrade(ctx context.Context, path, reference string, body map[string]any, exact404 bool) (Trade, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return Trade{}, fmt.Errorf("%s %s: %w: %w", path, reference, bank.ErrInvalid, err)
		}
	}
	req, err := c.request(ctx, http.MethodPost, path, b)
	if err != nil {
		return Trade{}, fmt.Errorf("%s %s: %w: %w", path, reference, bank.ErrInvalid, err)
	}
	raw, status, err := c.do(req)
	if err != nil {
		return Trade{}, err
	}
	return c.tradeAnswer(req, raw, status, reference, exact404)
}

// do sends a request and reads its answer; a failure to send or read is
// ErrUnavailable when nothing reached the provider, else ErrUnknownOutcome.
func (c *Channel) do(req *http.Request) ([]byte, int, error) {
	op := c.name + ": " + req.Method + " " + req.URL.Path
	resp, err := c.client.Do(req)
	if err != nil {
		if isDialError(err) {
			// The connection was never made: nothing reached the provider.
			return nil, 0, fmt.Errorf("%s: %w: %w", op, bank.ErrUnavailable, err)
		}
		return nil, 0, fmt.Errorf("%s: %w: %w", op, bank.ErrUnknownOutcome, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: read answer: %w: %w", op, bank.ErrUnknownOutcome, err)
	}
	return raw, resp.StatusCode, nil
}

// errorBody is the provider's error answer.
type errorBody struct {
	Error string     `json:"error"`
	Trade *tradeJSON `json:"trade"`
}

// tradeAnswer maps an answer about a trade onto the contract. A 404 not_found
// is ErrNotFound for a query and a close (exact: the provider has no such
// trade); closing makes 409 already_paid the paid trade it carries.
func (c *Channel) tradeAnswer(req *http.Request, raw []byte, status int, reference string, exact404 bool) (Trade, error) {
	op := c.name + ": " + req.Method + " " + req.URL.Path
	if status == http.StatusOK {
		var t tradeJSON
		if err := json.Unmarshal(raw, &t); err != nil || t.OutTradeNo != reference {
			return Trade{}, fmt.Errorf("%s: unreadable answer: %w", op, bank.ErrUnknownOutcome)
		}
		tr, ok := c.trade(t)
		if !ok {
			return Trade{}, fmt.Errorf("%s: unknown trade status %q: %w", op, t.Status, bank.ErrUnknownOutcome)
		}
		return tr, nil
	}
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	if status == http.StatusConflict && eb.Error == "already_paid" && strings.HasSuffix(req.URL.Path, "/close") {
		if eb.Trade == nil || eb.Trade.OutTradeNo != reference {
			return Trade{}, fmt.Errorf("%s: already_paid without the trade: %w", op, bank.ErrUnknownOutcome)
		}
		tr, ok := c.trade(*eb.Trade)
		if !ok || tr.Transfer.Status != models.BankSucceeded {
			return Trade{}, fmt.Errorf("%s: already_paid with trade status %q: %w", op, eb.Trade.Status, bank.ErrUnknownOutcome)
		}
		return tr, nil
	}
	return Trade{}, c.errorAnswer(op, status, eb.Error, exact404)
}

func (c *Channel) refundAnswer(req *http.Request, raw []byte, status int, reference string, query bool) (bank.Transfer, error) {
	op := c.name + ": " + req.Method + " " + req.URL.Path
	if status == http.StatusOK {
		var r refundJSON
		if err := json.Unmarshal(raw, &r); err != nil || r.OutRequestNo != reference {
			return bank.Transfer{}, fmt.Errorf("%s: unreadable answer: %w", op, bank.ErrUnknownOutcome)
		}
		t, ok := c.refund(r)
		if !ok {
			return bank.Transfer{}, fmt.Errorf("%s: unknown refund status %q: %w", op, r.Status, bank.ErrUnknownOutcome)
		}
		return t, nil
	}
	var eb errorBody
	_ = json.Unmarshal(raw, &eb)
	if !query && status == http.StatusNotFound && eb.Error == "not_found" {
		// A refund of a trade the provider never saw: it stored nothing.
		return bank.Transfer{}, fmt.Errorf("%s: the provider has no trade to refund: %w", op, bank.ErrInvalid)
	}
	return bank.Transfer{}, c.errorAnswer(op, status, eb.Error, query)
}

// errorAnswer maps an error answer onto the contract's errors.
func (c *Channel) errorAnswer(op string, status int, code string, exact404 bool) error {
	switch {
	case status == http.StatusNotFound && exact404 && code == "not_found":
		return fmt.Errorf("%s: %w", op, bank.ErrNotFound)
	case status == http.StatusServiceUnavailable && code == "bank_unavailable":
		// Refused before processing: nothing done, safe to resend.
		return fmt.Errorf("%s: %w", op, bank.ErrUnavailable)
	case status == http.StatusConflict && code == "not_cancelable":
		return fmt.Errorf("%s: %w", op, bank.ErrNotCancelable)
	case status == http.StatusBadRequest || status == http.StatusConflict:
		return fmt.Errorf("%s: HTTP %d %s: %w", op, status, code, bank.ErrInvalid)
	default:
		// 5xx (500 internal, 504 timeout of a code that was charged) and anything
		// undocumented: the provider may have acted.
		return fmt.Errorf("%s: HTTP %d %s: %w", op, status, code, bank.ErrUnknownOutcome)
	}
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
