package starter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

func codePayment(key, code string, amount int64) starter.NewPayment {
	return starter.NewPayment{
		Idempotent: starter.Idempotent{MerchantID: "mch_demo", Key: key, Fingerprint: "fp-" + key},
		Amount:     amount, Currency: "CNY", Source: models.PaymentSource{Type: models.SourcePaymentCode, Code: code},
	}
}

// A wallet's payment code pays once, for its merchant, within its minute: the
// payment names the wallet and shows the code masked; a second use, an expired
// code, a code replaced by a newer one, another merchant's and an unknown one
// are refused with nothing stored; the request that used it replays its payment;
// two points of sale racing with one code make one payment; over the merchant's
// no_password_limit the payment needs the owner's confirmation.
func TestWalletPaymentCodes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnvOn(t, b)
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			e.deps.Now = func() time.Time { return now }
			wallets := &starter.Wallets{Deps: e.deps}
			pays := &starter.Payments{Deps: e.deps, Flows: e.flows}
			ctx := context.Background()
			acct, err := wallets.CreateAccount(ctx, starter.NewAccount{Idempotent: starter.Idempotent{MerchantID: "mch_demo", Key: "w", Fingerprint: "w"}, Currency: "CNY"})
			require.NoError(t, err)
			wallet := acct.Object.ID

			_, err = wallets.CreatePaymentCode(ctx, "mch_off", wallet)
			require.ErrorIs(t, err, starter.ErrNotFound, "another merchant's wallet")
			code, err := wallets.CreatePaymentCode(ctx, "mch_demo", wallet)
			require.NoError(t, err)
			require.Regexp(t, `^99[0-9]{16}$`, code.Code)
			require.Equal(t, now.Add(60*time.Second), code.ExpiresAt)

			out, err := pays.Create(ctx, codePayment("k1", code.Code, 1000))
			require.NoError(t, err)
			p := out.Object
			require.Equal(t, models.SourcePaymentCode, p.Source.Type)
			require.Equal(t, wallet, p.Source.AccountID)
			require.Equal(t, "99"+"************"+code.Code[14:], p.Source.Code)
			require.False(t, p.ConfirmationRequired)
			require.Equal(t, "ledger", p.Channel)

			again, err := pays.Create(ctx, codePayment("k1", code.Code, 1000))
			require.NoError(t, err, "the request that used the code replays its payment")
			require.True(t, again.Replayed)
			require.Equal(t, p.ID, again.Object.ID)

			_, err = pays.Create(ctx, codePayment("k2", code.Code, 1000))
			require.ErrorIs(t, err, starter.ErrInvalidPaymentCode, "used")
			require.ErrorIs(t, err, starter.ErrInvalidSource)

			old, err := wallets.CreatePaymentCode(ctx, "mch_demo", wallet)
			require.NoError(t, err)
			fresh, err := wallets.CreatePaymentCode(ctx, "mch_demo", wallet)
			require.NoError(t, err)
			_, err = pays.Create(ctx, codePayment("k3", old.Code, 1000))
			require.ErrorIs(t, err, starter.ErrInvalidPaymentCode, "replaced by a newer code")
			_, err = pays.Create(ctx, codePayment("k4", "990000000000000000", 1000))
			require.ErrorIs(t, err, starter.ErrInvalidPaymentCode, "unknown")
			other := codePayment("k5", fresh.Code, 1000)
			other.MerchantID = "mch_off"
			_, err = pays.Create(ctx, other)
			require.ErrorIs(t, err, starter.ErrInvalidPaymentCode, "another merchant's")
			usd := codePayment("k6", fresh.Code, 1000)
			usd.Currency = "USD"
			_, err = pays.Create(ctx, usd)
			require.ErrorIs(t, err, starter.ErrInvalidPaymentCode, "another currency than the wallet's")

			now = now.Add(61 * time.Second)
			_, err = pays.Create(ctx, codePayment("k7", fresh.Code, 1000))
			require.ErrorIs(t, err, starter.ErrInvalidPaymentCode, "expired")

			// Two points of sale at once with one code: one payment.
			race, err := wallets.CreatePaymentCode(ctx, "mch_demo", wallet)
			require.NoError(t, err)
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = pays.Create(ctx, codePayment("race-"+string(rune('a'+i)), race.Code, 30000))
				}()
			}
			wg.Wait()
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					require.ErrorIs(t, err, starter.ErrInvalidPaymentCode)
				}
			}
			require.Equal(t, 1, won, "%v", errs)

			list, _, err := pays.List(ctx, starter.ListQuery{MerchantID: "mch_demo", Limit: 10})
			require.NoError(t, err)
			require.Len(t, list, 2, "the first payment and the race's winner; nothing of the refusals")
			require.Equal(t, int64(30000), list[0].Amount)
			require.True(t, list[0].ConfirmationRequired, "over the default no_password_limit of 20000")
			require.True(t, e.flows.payments[len(e.flows.payments)-1].ConfirmationRequired)
		})
	}
}

// A QR payment is stored with its page's URL (the public URL, /q/ and a token of
// 128 random bits) and when it stops, with no channel until an app opens it; its
// page finds it by the token; a second provider's app is told the code is in use,
// and an expired code is refused before its flow is asked.
func TestQRPayments(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	e.deps.Now = func() time.Time { return now }
	pays := &starter.Payments{Deps: e.deps, Flows: e.flows, PublicURL: "https://pay.example/"}
	ctx := context.Background()
	req := card("mch_demo", "qr1")
	req.Source, req.Channel = models.PaymentSource{Type: models.SourceQR}, ""
	out, err := pays.Create(ctx, req)
	require.NoError(t, err)
	p := out.Object
	require.NotNil(t, p.NextAction)
	require.Equal(t, models.NextActionDisplayQR, p.NextAction.Type)
	require.Regexp(t, `^https://pay\.example/q/[A-Za-z0-9_-]{22}$`, p.NextAction.QRURL)
	require.Equal(t, now.Add(120*time.Second), p.NextAction.ExpiresAt)
	require.Empty(t, p.Channel)
	require.Equal(t, p.NextAction.ExpiresAt, e.flows.payments[0].QRExpiresAt)

	token := p.NextAction.QRURL[len("https://pay.example/q/"):]
	got, err := pays.QRPayment(ctx, token)
	require.NoError(t, err)
	require.Equal(t, p.ID, got.ID)
	require.Equal(t, p.NextAction, got.NextAction)
	_, err = pays.QRPayment(ctx, "nope")
	require.ErrorIs(t, err, starter.ErrNotFound)

	url, err := pays.OpenQR(ctx, token, "alipaysim")
	require.NoError(t, err)
	require.Equal(t, "http://sim/alipaysim/checkout/1", url)
	bound, err := pays.Get(ctx, "mch_demo", p.ID)
	require.NoError(t, err)
	require.Equal(t, "alipaysim", bound.Channel, "the provider's notifications are taken for it")
	_, err = pays.OpenQR(ctx, token, "wxpaysim")
	require.ErrorIs(t, err, starter.ErrQRInUse)

	other := card("mch_demo", "qr2")
	other.Source, other.Channel, other.QRExpiresIn = models.PaymentSource{Type: models.SourceQR}, "", 60*time.Second
	out, err = pays.Create(ctx, other)
	require.NoError(t, err)
	require.Equal(t, now.Add(60*time.Second), out.Object.NextAction.ExpiresAt)
	now = now.Add(61 * time.Second)
	_, err = pays.OpenQR(ctx, out.Object.NextAction.QRURL[len("https://pay.example/q/"):], "alipaysim")
	require.ErrorIs(t, err, starter.ErrQRExpired)
}
