package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// InStorePayment is one kind of in-store payment of a run and what it ends as: a QR
// code opened by a wallet app (its User-Agent) and paid at the provider's checkout,
// or a provider's payment code by its last digit (the simulator's test codes).
type InStorePayment struct {
	// App is the wallet app that opens a QR code (its User-Agent mark); "" for a
	// payment code.
	App string
	// Prefix and Last make a payment code: its provider's prefix and the test
	// digit that decides its outcome.
	Prefix string
	Last   int
	// Unpaid leaves a QR code opened but not paid: the flow closes its trade when
	// it expires (60 s).
	Unpaid bool
	Want   string
	Code   string
}

// InStorePayments cycle through a run's in-store payments: QR codes paid with
// either app, and payment codes paid at once, confirmed in the app 5 s later
// (USERPAYING), never confirmed (canceled at PAYFLOW_CODE_CONFIRM_TIMEOUT), and
// refused; and a QR code opened and left unpaid, whose trade the flow closes at
// its expiry.
var InStorePayments = []InStorePayment{
	{App: "AlipayClient/10.5.0", Want: "succeeded"},
	{Prefix: "28", Last: 0, Want: "succeeded"},
	{Prefix: "13", Last: 1, Want: "succeeded"},
	{App: "MicroMessenger/8.0.50", Want: "succeeded"},
	{Prefix: "26", Last: 2, Want: "failed", Code: string(models.FailureCustomerNotConfirmed)},
	{Prefix: "11", Last: 3, Want: "failed", Code: string(models.FailureInsufficientFunds)},
	{App: "AlipayClient/10.5.0", Unpaid: true, Want: "failed", Code: string(models.FailureExpired)},
}

// inStoreChain makes one in-store payment and waits for its outcome: a QR code is
// opened as its app would (until the page answers the provider's checkout, through
// crashes) and paid as the customer's Pay button would.
func inStoreChain(ctx context.Context, d *Driver, tr *Tracker, kind InStorePayment, amount int64) error {
	source := map[string]any{"type": "qr", "expires_in": 300}
	if kind.Unpaid {
		source["expires_in"] = int(models.MinQRExpiresIn / time.Second)
	}
	provider := models.QRProviderOf(kind.App)
	if kind.App == "" {
		code := fmt.Sprintf("%s%015d%d", kind.Prefix, rand.Int64N(1e15), kind.Last)
		source = map[string]any{"type": "payment_code", "code": code}
		issuer, _ := models.ParsePaymentCode(code)
		provider = string(issuer)
	}
	p, err := tr.StartOn(ctx, d, "payment", "/v1/payments", map[string]any{"amount": amount, "currency": "CNY", "source": source}, kind.Want, kind.Code, provider)
	if err != nil {
		return err
	}
	if kind.App != "" {
		if err := payQR(ctx, d, p.ID, kind.App, !kind.Unpaid); err != nil {
			return err
		}
	}
	_, err = tr.Wait(ctx, d, p, "payment")
	return err
}

// payQR reads a QR payment's page URL, opens it with the app's User-Agent until it
// answers the provider's checkout (a crashed API or worker answers 5xx meanwhile),
// and pays the trade as the checkout's Pay button does.
func payQR(ctx context.Context, d *Driver, id, app string, pay bool) error {
	var checkout string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r, err := d.Client(d.NextReplica()).Get(ctx, "/v1/payments/"+id)
		if err == nil && r.Status == http.StatusOK {
			var p struct {
				NextAction *models.NextAction `json:"next_action"`
			}
			if err := json.Unmarshal(r.Body, &p); err == nil && p.NextAction != nil {
				checkout, err = openQRPage(ctx, p.NextAction.QRURL, app)
				if err == nil {
					break
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("QR payment %s: its page never sent %s to a checkout", id, app)
		}
		time.Sleep(time.Second)
	}
	if !pay {
		return nil
	}
	provider := "alipaysim"
	if strings.Contains(checkout, "/wxpaysim/") {
		provider = "wxpaysim"
	}
	tradeNo := checkout[strings.LastIndexByte(checkout, '/')+1:]
	body, _ := json.Marshal(map[string]string{"provider": provider, "trade_no": tradeNo})
	for {
		r, err := d.Bank(ctx, http.MethodPost, "/sim/wallet/pay", string(body))
		if err == nil && r.Status == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("QR payment %s: the provider did not take the customer's payment: %v", id, err)
		}
		time.Sleep(time.Second)
	}
}

// openQRPage opens a QR payment's page as an app and answers where it sends it.
func openQRPage(ctx context.Context, url, app string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 14) "+app)
	c := &http.Client{Timeout: 40 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("the page answered %d", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

// walletTrade is a wallet provider's trade as the simulator shows it.
type walletTrade struct {
	Found          bool
	Status         string `json:"status"`
	PaidAmount     int64  `json:"paid_amount"`
	ReversedAmount int64  `json:"reversed_amount"`
	RefundedAmount int64  `json:"refunded_amount"`
}

// Trade reads a wallet provider's trade of our reference from the simulator.
func (d *Driver) Trade(ctx context.Context, provider, reference string) (walletTrade, error) {
	r, err := d.Bank(ctx, http.MethodGet, "/"+provider+"/trades/"+reference, "")
	if err != nil {
		return walletTrade{}, err
	}
	if r.Status == http.StatusNotFound {
		return walletTrade{}, nil
	}
	if r.Status != http.StatusOK {
		return walletTrade{}, fmt.Errorf("GET /%s/trades/%s: HTTP %d %s", provider, reference, r.Status, r.Body)
	}
	t := walletTrade{Found: true}
	return t, json.Unmarshal(r.Body, &t)
}

// verifyAtProvider checks a wallet provider's trade of a flow: a succeeded payment
// was paid there once and kept; any other outcome left no money there (never paid,
// closed, refused, or paid and given back by the cancel).
func verifyAtProvider(ctx context.Context, rep *Report, d *Driver, f Flow, got Object, channel string, succeeded bool) {
	t, err := d.Trade(ctx, channel, f.BankRef)
	if err != nil {
		rep.problem("%v", err)
		return
	}
	paid := t.Status == "SUCCESS" || t.Status == "REFUND"
	switch {
	case succeeded && (!paid || t.PaidAmount != got.Amount || t.ReversedAmount != 0):
		rep.problem("%s %s succeeded but %s's trade is %s (paid %d of %d, reversed %d)", f.Kind, f.BankRef, channel, t.Status, t.PaidAmount, got.Amount, t.ReversedAmount)
	case !succeeded && paid:
		rep.problem("%s %s ended %s %q but %s's trade is %s: the customer paid for nothing", f.Kind, f.BankRef, got.Status, got.FailureCode, channel, t.Status)
	case !succeeded && t.PaidAmount > 0 && t.ReversedAmount != t.PaidAmount-t.RefundedAmount:
		rep.problem("%s %s ended %s but %s kept %d of the customer's %d", f.Kind, f.BankRef, got.Status, channel, t.PaidAmount-t.ReversedAmount, t.PaidAmount)
	case !succeeded && t.PaidAmount > 0:
		rep.Reversed++
	}
}
