package stripe

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Cancel stops only what Stripe can stop (a pending payout), answers a transfer
// that ended as it ended, and says ErrNotCancelable for anything that may still
// execute, including a reference Stripe has not seen. The states live in the fake;
// the payout cancel itself is first validated by stripe-mock.
func TestCancel(t *testing.T) {
	created := time.Now().Add(-time.Hour)
	pay := refAt(models.PrefixPayment, created)
	top := refAt(models.PrefixTopup, created)
	re := refAt(models.PrefixRefund, created)
	wd := refAt(models.PrefixWithdrawal, created)
	payout := func(status, failureCode string) func(f *fakeStripe) {
		return func(f *fakeStripe) {
			f.add("/v1/payouts", "po", time.Now(), map[string]any{
				"object": "payout", "status": status, "failure_code": failureCode, "amount": 500, "currency": "cny", "metadata": meta(wd),
			})
		}
	}
	refund := func(ref, status string) func(f *fakeStripe) {
		return func(f *fakeStripe) {
			f.add("/v1/refunds", "re", time.Now(), map[string]any{"object": "refund", "status": status, "amount": 500, "currency": "cny", "metadata": meta(ref)})
		}
	}
	failOn := func(method, path string, code int) func(f *fakeStripe) {
		return func(f *fakeStripe) {
			f.fail = func(r *http.Request) int {
				if r.Method == method && (path == "" || r.URL.Path == path) {
					return code
				}
				return 0
			}
		}
	}
	tests := []struct {
		name  string
		ref   string
		setup []func(f *fakeStripe)
		// want is the error, or nil for a transfer with wantStatus and wantCode.
		want       error
		wantStatus models.BankStatus
		wantCode   models.FailureCode
		// wantCancel: the payout cancel was sent to Stripe.
		wantCancel bool
	}{
		{name: "pending payout is canceled", ref: wd, setup: []func(*fakeStripe){payout("pending", "")},
			wantStatus: models.BankCanceled, wantCode: models.FailureBankUnavailable, wantCancel: true},
		{name: "paid payout is not undone", ref: wd, setup: []func(*fakeStripe){payout("paid", "")},
			wantStatus: models.BankSucceeded},
		{name: "failed payout stays failed", ref: wd, setup: []func(*fakeStripe){payout("failed", "no_account")},
			wantStatus: models.BankFailed, wantCode: models.FailureAccountClosed},
		{name: "payout canceled before", ref: wd, setup: []func(*fakeStripe){payout("canceled", "")},
			wantStatus: models.BankCanceled, wantCode: models.FailureBankUnavailable},
		{name: "payout in transit cannot be stopped", ref: wd, setup: []func(*fakeStripe){payout("in_transit", "")},
			want: bank.ErrNotCancelable},
		{name: "payout stripe never saw may still arrive", ref: wd, want: bank.ErrNotCancelable},
		{name: "pending payout went in transit before the cancel arrived", ref: wd,
			setup: []func(*fakeStripe){payout("pending", ""), func(f *fakeStripe) { f.payoutMovesTo = "in_transit" }},
			want:  bank.ErrNotCancelable, wantCancel: true},
		{name: "pending payout was paid before the cancel arrived", ref: wd,
			setup:      []func(*fakeStripe){payout("pending", ""), func(f *fakeStripe) { f.payoutMovesTo = "paid" }},
			wantStatus: models.BankSucceeded, wantCancel: true},
		{name: "payout cancel answered 500", ref: wd,
			setup: []func(*fakeStripe){payout("pending", ""), failOn(http.MethodPost, "", 500)},
			want:  bank.ErrUnknownOutcome, wantCancel: true},
		{name: "payout cancel rate limited", ref: wd,
			setup: []func(*fakeStripe){payout("pending", ""), failOn(http.MethodPost, "", 429)},
			want:  bank.ErrUnavailable, wantCancel: true},
		{name: "payout lookup fails", ref: wd,
			setup: []func(*fakeStripe){payout("pending", ""), failOn(http.MethodGet, "/v1/payouts", 503)},
			want:  bank.ErrUnknownOutcome},
		{name: "succeeded charge", ref: pay, setup: []func(*fakeStripe){func(f *fakeStripe) { f.addCharge(pay, "succeeded", 500, "cny", time.Now()) }},
			wantStatus: models.BankSucceeded},
		{name: "failed top-up charge", ref: top, setup: []func(*fakeStripe){func(f *fakeStripe) { f.addCharge(top, "failed", 500, "cny", time.Now()) }},
			wantStatus: models.BankFailed, wantCode: models.FailureCardDeclined},
		{name: "pending charge cannot be stopped", ref: pay, setup: []func(*fakeStripe){func(f *fakeStripe) { f.addCharge(pay, "pending", 500, "cny", time.Now()) }},
			want: bank.ErrNotCancelable},
		{name: "charge stripe never saw may still arrive", ref: pay, want: bank.ErrNotCancelable},
		{name: "succeeded refund", ref: re, setup: []func(*fakeStripe){refund(re, "succeeded")},
			wantStatus: models.BankSucceeded},
		{name: "pending reversal cannot be stopped", ref: models.ReversalReference(pay), setup: []func(*fakeStripe){refund(models.ReversalReference(pay), "pending")},
			want: bank.ErrNotCancelable},
		{name: "succeeded reversal", ref: models.ReversalReference(top), setup: []func(*fakeStripe){refund(models.ReversalReference(top), "succeeded")},
			wantStatus: models.BankSucceeded},
		{name: "failed legacy reversal", ref: pay + ".reversal", setup: []func(*fakeStripe){refund(pay+".reversal", "failed")},
			wantStatus: models.BankFailed, wantCode: models.FailureCardDeclined},
		{name: "refund stripe never saw may still arrive", ref: re, want: bank.ErrNotCancelable},
		{name: "charge lookup fails", ref: pay, setup: []func(*fakeStripe){failOn(http.MethodGet, "", 503)},
			want: bank.ErrUnknownOutcome},
		{name: "a reference of no kind payflow sends", ref: refAt("xyz_", created), want: bank.ErrUnknownOutcome},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, rec, url := newFakeStripe(t, toStripeMock(t))
			for _, s := range tc.setup {
				s(f)
			}
			got, err := newChannel(t, url, Options{}).Cancel(context.Background(), tc.ref)

			posts := rec.posts()
			if tc.wantCancel {
				po := f.objects["/v1/payouts"][0]
				require.Len(t, posts, 1)
				require.Equal(t, "/v1/payouts/"+po["id"].(string)+"/cancel", posts[0].Path)
			} else {
				require.Empty(t, posts, "nothing may be sent")
			}
			if tc.want != nil {
				requireCancelError(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.ref, got.Reference)
			require.Equal(t, Name, got.Channel)
			require.Equal(t, tc.wantStatus, got.Status)
			require.Equal(t, tc.wantCode, got.FailureCode)
			require.Equal(t, int64(500), got.Amount)
			require.NotEmpty(t, got.BankID)
		})
	}
}

// A payout Cancel stopped is canceled at Stripe from then on: a query, and a
// second Cancel (a retry after a lost answer), say canceled too, and the second
// sends nothing.
func TestCancelPayoutThenQuery(t *testing.T) {
	f, rec, url := newFakeStripe(t, toStripeMock(t))
	wd := models.NewID(models.PrefixWithdrawal)
	f.add("/v1/payouts", "po", time.Now(), map[string]any{"object": "payout", "status": "pending", "amount": 500, "currency": "cny", "metadata": meta(wd)})
	c := newChannel(t, url, Options{})

	got, err := c.Cancel(context.Background(), wd)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status)
	got, err = c.Query(context.Background(), wd)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status)
	got, err = c.Cancel(context.Background(), wd)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status)

	require.Len(t, rec.posts(), 1)
}

// requireCancelError checks that a Cancel's error is want and says nothing else to
// the caller, and that it is one of those Cancel may answer.
func requireCancelError(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	var said []error
	for _, s := range []error{bank.ErrUnavailable, bank.ErrUnknownOutcome, bank.ErrNotFound, bank.ErrInvalid, bank.ErrNotCancelable} {
		if errors.Is(err, s) {
			said = append(said, s)
		}
	}
	require.Len(t, said, 1, "contract errors in %v", err)
	require.NotErrorIs(t, err, bank.ErrNotFound, "Cancel never answers not found")
	require.NotErrorIs(t, err, bank.ErrInvalid, "Cancel never answers invalid")
}
