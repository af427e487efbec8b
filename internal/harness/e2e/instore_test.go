package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

const (
	alipayUA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 AlipayClient/10.5.0"
	wechatUA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0.50"
	safariUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) AppleWebKit/605.1.15 Safari/604.1"
)

// createQR posts a QR payment and returns it with its display_qr.
func createQR(t *testing.T, s *Stack, amount int64, expiresIn int) models.Payment {
	t.Helper()
	r, err := s.Client(0).Post(context.Background(), "/v1/payments", map[string]any{
		"amount": amount, "currency": "CNY", "source": map[string]any{"type": "qr", "expires_in": expiresIn},
	}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var p models.Payment
	require.NoError(t, r.JSON(&p))
	require.NotNil(t, p.NextAction)
	return p
}

// openQR opens a QR payment's page as an app (its User-Agent) would, without
// following a redirect.
func openQR(t *testing.T, url, userAgent string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("User-Agent", userAgent)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// QR payments through the page a customer's app opens: the first app binds the
// payment and is sent to its provider's checkout, another app is told the code is
// in use, a browser gets the list of apps; paid at the checkout, the payment
// succeeds; opened but not paid, the flow closes the trade at expiry and it fails
// expired; never opened, it fails expired. The codes of every stack are created
// first, so that their minute of expiry runs on all stacks at once.
func TestQRPayments(t *testing.T) {
	type qrs struct{ paid, unpaid, unopened models.Payment }
	made := map[string]qrs{}
	for _, s := range stacks {
		made[s.Opts.Name] = qrs{createQR(t, s, 1234, 60), createQR(t, s, 2345, 60), createQR(t, s, 3456, 60)}
	}
	eachStack(t, func(t *testing.T, s *Stack) {
		q := made[s.Opts.Name]
		paid := q.paid
		status, _, body := openQR(t, paid.NextAction.QRURL, safariUA)
		require.Equal(t, 200, status)
		require.Contains(t, body, "Alipay")
		require.Contains(t, body, "WeChat")

		status, checkout, _ := openQR(t, paid.NextAction.QRURL, alipayUA)
		require.Equal(t, 302, status)
		require.Contains(t, checkout, "/alipaysim/checkout/")
		status, again, _ := openQR(t, paid.NextAction.QRURL, alipayUA)
		require.Equal(t, 302, status)
		require.Equal(t, checkout, again, "the same app again: the same trade")
		status, _, body = openQR(t, paid.NextAction.QRURL, wechatUA)
		require.Equal(t, 409, status)
		require.Contains(t, body, "another app")

		// The customer presses Pay in the app.
		tradeNo := checkout[strings.LastIndex(checkout, "/")+1:]
		bankAdmin(t, s, "/sim/wallet/pay", map[string]any{"provider": "alipaysim", "trade_no": tradeNo})
		done := waitPayment(t, s, paid.ID, 30*time.Second)
		require.Equal(t, models.PaymentSucceeded, done.Status)
		require.Equal(t, "alipaysim", done.Channel)
		require.Nil(t, done.NextAction)

		status, _, _ = openQR(t, q.unpaid.NextAction.QRURL, wechatUA)
		require.Equal(t, 302, status)
	})
	eachStack(t, func(t *testing.T, s *Stack) {
		q := made[s.Opts.Name]
		for _, p := range []models.Payment{q.unpaid, q.unopened} {
			done := waitPayment(t, s, p.ID, 120*time.Second)
			require.Equal(t, models.PaymentFailed, done.Status, p.ID)
			require.Equal(t, models.FailureExpired, done.FailureCode, p.ID)
		}
		status, _, _ := openQR(t, q.unopened.NextAction.QRURL, alipayUA)
		require.Equal(t, 410, status, "an expired code")
		require.NoError(t, checkLedger(context.Background(), s))
	})
}

// providerCode is a fresh payment code of a provider ending in last (each code is
// single use at its provider).
func providerCode(prefix string, last int) string {
	return fmt.Sprintf("%s%015d%d", prefix, rand.Int64N(1e15), last)
}

// Payment codes of the wallet providers, by the simulator's test codes: paid at
// once; USERPAYING then confirmed in the app; USERPAYING never confirmed (canceled
// at PAYFLOW_CODE_CONFIRM_TIMEOUT, customer_not_confirmed); refused; charged while
// the provider's answer timed out (the query decides); a code used twice.
func TestProviderPaymentCodes(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		cases := []struct {
			name   string
			code   string
			status models.PaymentStatus
			fail   models.FailureCode
		}{
			{"paid at once", providerCode("28", 0), models.PaymentSucceeded, ""},
			{"confirmed in the app", providerCode("13", 1), models.PaymentSucceeded, ""},
			{"never confirmed", providerCode("26", 2), models.PaymentFailed, models.FailureCustomerNotConfirmed},
			{"insufficient funds", providerCode("11", 3), models.PaymentFailed, models.FailureInsufficientFunds},
			{"provider timed out after charging", providerCode("29", 4), models.PaymentSucceeded, ""},
			{"code expired", providerCode("12", 5), models.PaymentFailed, models.FailureCodeExpired},
		}
		var wg sync.WaitGroup
		ids := make([]string, len(cases))
		for i, tc := range cases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := payByCode(t, s, tc.code, 1000+int64(i), false)
				if r.Status != 202 {
					t.Errorf("%s: HTTP %d %s", tc.name, r.Status, r.Body)
					return
				}
				var p models.Payment
				if err := json.Unmarshal(r.Body, &p); err != nil {
					t.Error(err)
					return
				}
				ids[i] = p.ID
			}()
		}
		wg.Wait()
		for i, tc := range cases {
			if ids[i] == "" {
				continue
			}
			p := waitPayment(t, s, ids[i], 3*time.Minute)
			require.Equal(t, tc.status, p.Status, tc.name)
			require.Equal(t, tc.fail, p.FailureCode, tc.name)
			require.Equal(t, models.SourcePaymentCode, p.Source.Type)
			require.NotContains(t, p.Source.Code, tc.code[2:14], "masked")
		}
		// A refund of a paid code payment goes back through its provider.
		status, re, code := refund(t, s, ids[0], 400)
		require.Equal(t, 202, status, code)
		require.Equal(t, models.RefundSucceeded, waitRefund(t, s, re.ID).Status)

		// The providers' statements of the day agree with the flows: every one of
		// these payments matched (the never-confirmed one reversed by its cancel).
		today := time.Now().UTC().Format(models.DayLayout)
		for _, provider := range []string{"alipaysim", "wxpaysim"} {
			rec := openReconciliation(t, s, fmt.Sprintf(`{"channel":%q,"date":%q,"rerun":true}`, provider, today), 202)
			got := waitReconciliation(t, s, rec.ID, 90*time.Second)
			mine := map[string]bool{}
			for _, id := range ids {
				mine[id] = true
			}
			for _, d := range allDifferences(t, s, rec.ID) {
				ref := strings.TrimPrefix(d.Reference, "rev_")
				require.False(t, mine[ref] || ref == re.ID, "%s: a difference on a payment code's reference: %+v", provider, d)
			}
			require.Positive(t, got.Counts.Matched, provider)
		}

		// A code used twice: the provider refuses the second use.
		again := payByCode(t, s, cases[0].code, 500, true)
		require.Equal(t, 200, again.Status, "%s", again.Body)
		var p models.Payment
		require.NoError(t, again.JSON(&p))
		require.Equal(t, models.FailureCodeUsed, p.FailureCode)
		require.NoError(t, checkLedger(context.Background(), s))
	})
}
