package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

func qrInput(env interface{ Now() time.Time }) models.PaymentInput {
	return models.PaymentInput{
		PaymentID: "pay_test1", MerchantID: "mch_demo", Amount: 1050, Currency: "CNY",
		Source:      models.PaymentSource{Type: models.SourceQR},
		QRExpiresAt: env.Now().Add(120 * time.Second),
		BankTiming:  models.BankTiming{BankPoll: time.Minute, BankDeadline: 24 * time.Hour},
	}
}

// A QR payment: the first wallet app to open its page binds it (another provider's
// app is refused, the same provider gets the same checkout page without a second
// trade); the flow then waits for the provider's payment, and at expiry closes the
// trade: paid before, or paid at the instant of the close ("already paid"), is a
// success; closed is expired; never opened is expired with nothing at any provider.
func TestQRPayment(t *testing.T) {
	trade := models.ChargeResult{Status: models.BankProcessing, Channel: "alipaysim", CheckoutURL: "http://sim/alipaysim/checkout/t1", Amount: 1050, Currency: "CNY"}
	paid := models.ChargeResult{Status: models.BankSucceeded, Channel: "alipaysim", Amount: 1050, Currency: "CNY"}
	waiting := models.ChargeResult{Status: models.BankProcessing, Channel: "alipaysim", Amount: 1050, Currency: "CNY"}
	closed := models.ChargeResult{Status: models.BankCanceled, Channel: "alipaysim", Amount: 1050, Currency: "CNY"}
	tests := []struct {
		name   string
		open   bool
		paidAt int // the query (1-based) that finds it paid; 0: never
		close  *models.ChargeResult
		status models.PaymentStatus
		code   models.FailureCode
	}{
		{name: "paid before expiry", open: true, paidAt: 2, status: models.PaymentSucceeded},
		{name: "paid at the instant of the close", open: true, close: &paid, status: models.PaymentSucceeded},
		{name: "expired at the provider", open: true, close: &closed, status: models.PaymentFailed, code: models.FailureExpired},
		{name: "never opened", status: models.PaymentFailed, code: models.FailureExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			in := qrInput(env)
			if tc.open {
				env.OnActivity(bankActs.OpenTrade, mock.Anything, models.OpenTradeInput{
					Reference: "pay_test1", MerchantID: "mch_demo", Amount: 1050, Currency: "CNY", Channel: "alipaysim",
				}).Return(trade, nil).Once()
				query := env.OnActivity(bankActs.QueryTransfer, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "alipaysim"})
				if tc.paidAt > 0 {
					calls := 0
					query.Return(func(_ context.Context, _ models.QueryTransferInput) (models.ChargeResult, error) {
						calls++
						if calls >= tc.paidAt {
							return paid, nil
						}
						return waiting, nil
					})
				} else {
					query.Return(waiting, nil)
				}
				if tc.close != nil {
					env.OnActivity(bankActs.CloseTrade, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "alipaysim"}).Return(*tc.close, nil).Once()
				}
			}
			env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(tc.status, tc.code))).
				Return(models.FinalizePaymentResult{Status: tc.status}, nil).Once()
			var opened, again models.OpenedQR
			var refused error
			if tc.open {
				env.RegisterDelayedCallback(func() {
					env.UpdateWorkflow(UpdateOpenQR, "a1", updateResult(&opened), models.OpenQR{Provider: "alipaysim"})
				}, 5*time.Second)
				env.RegisterDelayedCallback(func() {
					env.UpdateWorkflow(UpdateOpenQR, "w1", updateResult(&models.OpenedQR{}, &refused), models.OpenQR{Provider: "wxpaysim"})
					env.UpdateWorkflow(UpdateOpenQR, "a2", updateResult(&again), models.OpenQR{Provider: "alipaysim"})
				}, 6*time.Second)
			}
			requirePaymentEnds(t, env, in, tc.status, tc.code)
			if tc.open {
				require.Equal(t, trade.CheckoutURL, opened.CheckoutURL)
				require.Equal(t, trade.CheckoutURL, again.CheckoutURL, "the same provider gets the same trade")
				require.ErrorContains(t, refused, "in use")
			}
		})
	}
}

// updateResult is the callbacks of an Update whose result (or rejection) the test
// keeps.
func updateResult[T any](out *T, rejected ...*error) *resultCallbacks[T] {
	r := &resultCallbacks[T]{out: out}
	if len(rejected) > 0 {
		r.rejected = rejected[0]
	}
	return r
}

type resultCallbacks[T any] struct {
	out      *T
	rejected *error
}

func (r *resultCallbacks[T]) Accept() {}
func (r *resultCallbacks[T]) Reject(err error) {
	if r.rejected != nil {
		*r.rejected = err
	}
}
func (r *resultCallbacks[T]) Complete(v any, err error) {
	if err != nil {
		if r.rejected != nil {
			*r.rejected = err
		}
		return
	}
	if got, ok := v.(T); ok {
		*r.out = got
	}
}
