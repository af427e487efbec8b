package stripe

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Against stripe-mock: a payout answers in_transit (a fixture), which is processing:
// Stripe decides days later.
func TestPayoutOnStripeMock(t *testing.T) {
	rec, url := recordedStripeMock(t)
	ref := models.NewID(models.PrefixWithdrawal)
	got, err := newChannel(t, url, Options{}).Payout(context.Background(), bank.PayoutRequest{
		Reference: ref, Amount: 20000, Currency: "CNY", BankAccount: "ba_success",
	})
	require.NoError(t, err)
	require.Equal(t, bank.Transfer{
		Reference: ref, Channel: Name, Kind: bank.KindPayout, Amount: 20000, Currency: "CNY",
		Status: models.BankProcessing, BankID: got.BankID,
	}, got)
	require.Regexp(t, `^po_`, got.BankID)
	r := requireCreated(t, rec.requests(), "POST /v1/payouts", ref)
	require.Equal(t, "20000", r.Form.Get("amount"))
	require.Equal(t, "cny", r.Form.Get("currency"))
	require.Equal(t, "ba_success", r.Form.Get("destination"))
}

func TestPayoutStatuses(t *testing.T) {
	tests := []struct {
		status stripego.PayoutStatus
		code   stripego.PayoutFailureCode
		want   models.BankStatus
		wantFC models.FailureCode
	}{
		{stripego.PayoutStatusPaid, "", models.BankSucceeded, ""},
		{stripego.PayoutStatusPending, "", models.BankProcessing, ""},
		{stripego.PayoutStatusInTransit, "", models.BankProcessing, ""},
		{stripego.PayoutStatusFailed, stripego.PayoutFailureCodeAccountClosed, models.BankFailed, models.FailureAccountClosed},
		{stripego.PayoutStatusFailed, stripego.PayoutFailureCodeNoAccount, models.BankFailed, models.FailureAccountClosed},
		{stripego.PayoutStatusFailed, stripego.PayoutFailureCodeInvalidAccountNumber, models.BankFailed, models.FailureAccountClosed},
		{stripego.PayoutStatusFailed, stripego.PayoutFailureCodeAccountFrozen, models.BankFailed, models.FailureAccountClosed},
		{stripego.PayoutStatusFailed, stripego.PayoutFailureCodeCouldNotProcess, models.BankFailed, models.FailureBankUnavailable},
		{stripego.PayoutStatusFailed, stripego.PayoutFailureCodeInsufficientFunds, models.BankFailed, models.FailureBankUnavailable},
		// Canceled, by us or by anyone: the payout never executed and never will.
		{stripego.PayoutStatusCanceled, "", models.BankCanceled, models.FailureBankUnavailable},
	}
	for _, tc := range tests {
		t.Run(string(tc.status)+"/"+string(tc.code), func(t *testing.T) {
			got, err := payoutTransfer("payout wd_1", "wd_1", &stripego.Payout{ID: "po_1", Status: tc.status, FailureCode: tc.code, Amount: 5, Currency: "cny"})
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Status)
			require.Equal(t, tc.wantFC, got.FailureCode)
		})
	}
}

// A payout canceled at Stripe answers canceled to a query and in the statement, as
// it does to the Cancel that stopped it: a query after a cancel whose answer was
// lost must read the same, and Stripe does not say who canceled a payout.
func TestCanceledPayoutIsCanceled(t *testing.T) {
	f, _, url := newFakeStripe(t, nil)
	wd := models.NewID(models.PrefixWithdrawal)
	now := time.Now()
	po := f.add("/v1/payouts", "po", now, map[string]any{"object": "payout", "status": "canceled", "amount": 500, "currency": "cny", "metadata": meta(wd)})
	f.add("/v1/balance_transactions", "txn", now, map[string]any{
		"object": "balance_transaction", "type": "payout", "amount": -500, "currency": "cny", "status": "available", "source": po["id"],
	})
	c := newChannel(t, url, Options{})

	got, err := c.Query(context.Background(), wd)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status)
	require.True(t, got.Status.Final())

	rc, err := c.Statement(context.Background(), now)
	require.NoError(t, err)
	lines, err := readStatement(t, rc)
	require.NoError(t, err)
	require.Len(t, lines, 2)
	require.Equal(t, []string{wd, "payout", "500", "CNY", "canceled"}, lines[1][:5])
}
