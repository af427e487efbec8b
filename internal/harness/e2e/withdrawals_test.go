package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

func createWithdrawal(t *testing.T, s *Stack, wallet string, amount int64, bankAccount string) models.Withdrawal {
	t.Helper()
	r, err := s.Client(0).Post(context.Background(), "/v1/withdrawals", map[string]any{
		"account_id": wallet, "amount": amount, "currency": "CNY", "destination": map[string]any{"bank_account": bankAccount},
	}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var w models.Withdrawal
	require.NoError(t, r.JSON(&w))
	return w
}

func waitWithdrawal(t *testing.T, s *Stack, id string, pending ...string) models.Withdrawal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, r, err := s.Client(0).WaitStatus(ctx, "/v1/withdrawals/"+id, 200*time.Millisecond, pending...)
	require.NoError(t, err)
	var w models.Withdrawal
	require.NoError(t, r.JSON(&w))
	return w
}

func fundedWallet(t *testing.T, s *Stack, amount int64) accountView {
	t.Helper()
	w := createWallet(t, s)
	require.Equal(t, models.TopupSucceeded, topUp(t, s, w.ID, amount, "tok_success").Status)
	return w
}

func TestWithdrawalsAtTheBank(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		tests := []struct {
			account string
			status  models.WithdrawalStatus
			code    models.FailureCode
			balance int64
		}{
			{"ba_success", models.WithdrawalSucceeded, "", 6000},
			{"ba_closed", models.WithdrawalFailed, models.FailureAccountClosed, 10000},
			{"ba_processing", models.WithdrawalSucceeded, "", 6000},
			{"ba_timeout_success", models.WithdrawalSucceeded, "", 6000},
		}
		for _, tc := range tests {
			t.Run(tc.account, func(t *testing.T) {
				t.Parallel()
				w := fundedWallet(t, s, 10000)
				wd := createWithdrawal(t, s, w.ID, 4000, tc.account)
				got := waitWithdrawal(t, s, wd.ID, "processing")
				require.Equal(t, tc.status, got.Status)
				require.Equal(t, tc.code, got.FailureCode)
				a := getWallet(t, s, w.ID)
				require.Equal(t, tc.balance, a.Balance)
				require.Equal(t, tc.balance, a.Available, "nothing may stay held")
				require.Equal(t, 1, executions(t, s, wd.ID))
			})
		}
	})
	eachStack(t, func(t *testing.T, s *Stack) {
		w := fundedWallet(t, s, 1000)
		wd := createWithdrawal(t, s, w.ID, 1001, "ba_success")
		got := waitWithdrawal(t, s, wd.ID, "processing")
		require.Equal(t, models.WithdrawalFailed, got.Status)
		require.Equal(t, models.FailureInsufficientFunds, got.FailureCode)
		require.Equal(t, 0, executions(t, s, wd.ID), "a withdrawal without funds reached the bank")
		require.Equal(t, int64(1000), getWallet(t, s, w.ID).Available)
	})
}

func opsAct(t *testing.T, s *Stack, path, body string) (int, map[string]any) {
	t.Helper()
	r, err := s.Ops(context.Background(), "POST", path, body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(r.Body, &out)
	return r.Status, out
}

// Over the review threshold (100000 for the demo merchant): pending_approval, with
// the amount held, until an operator approves or rejects; a second approve is
// refused; an approval that never comes expires and releases the hold.
func TestWithdrawalApprovals(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		t.Run("approve", func(t *testing.T) {
			w := fundedWallet(t, s, 300000)
			wd := createWithdrawal(t, s, w.ID, 150000, "ba_success")
			pending := waitWithdrawal(t, s, wd.ID, "processing")
			require.Equal(t, models.WithdrawalPendingApproval, pending.Status)
			a := getWallet(t, s, w.ID)
			require.Equal(t, int64(150000), a.Held)
			require.Equal(t, int64(150000), a.Available)
			status, body := opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/approve", `{"reason":"known customer"}`)
			require.Equal(t, 200, status, "%v", body)
			status, body = opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/approve", "")
			require.Equal(t, 409, status, "a second approve must be refused: %v", body)
			require.Equal(t, "not_pending_approval", body["code"])
			got := waitWithdrawal(t, s, wd.ID, "processing", "pending_approval")
			require.Equal(t, models.WithdrawalSucceeded, got.Status)
			require.Equal(t, int64(150000), getWallet(t, s, w.ID).Balance)
			r, err := s.Ops(context.Background(), "GET", "/v1/ops/audit?target="+wd.ID, "")
			require.NoError(t, err)
			var audit struct{ Data []models.AuditEntry }
			require.NoError(t, json.Unmarshal(r.Body, &audit))
			require.Len(t, audit.Data, 2)
			require.Equal(t, "refused", audit.Data[0].Result)
			require.Equal(t, "accepted", audit.Data[1].Result)
			require.Equal(t, "known customer", audit.Data[1].Reason)
		})
		t.Run("reject", func(t *testing.T) {
			w := fundedWallet(t, s, 300000)
			wd := createWithdrawal(t, s, w.ID, 150000, "ba_success")
			require.Equal(t, models.WithdrawalPendingApproval, waitWithdrawal(t, s, wd.ID, "processing").Status)
			status, _ := opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/reject", "")
			require.Equal(t, 400, status, "a rejection needs a reason")
			status, body := opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/reject", `{"reason":"suspected fraud"}`)
			require.Equal(t, 200, status, "%v", body)
			got := waitWithdrawal(t, s, wd.ID, "processing", "pending_approval")
			require.Equal(t, models.WithdrawalCanceled, got.Status)
			require.Equal(t, models.FailureRejected, got.FailureCode)
			a := getWallet(t, s, w.ID)
			require.Equal(t, int64(300000), a.Available)
			require.Equal(t, 0, executions(t, s, wd.ID))
		})
		t.Run("expire", func(t *testing.T) {
			w := fundedWallet(t, s, 300000)
			wd := createWithdrawal(t, s, w.ID, 150000, "ba_success")
			got := waitWithdrawal(t, s, wd.ID, "processing", "pending_approval")
			require.Equal(t, models.WithdrawalCanceled, got.Status)
			require.Equal(t, models.FailureExpired, got.FailureCode)
			require.Equal(t, int64(300000), getWallet(t, s, w.ID).Available)
			status, _ := opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/approve", "")
			require.Equal(t, 409, status, "an expired withdrawal cannot be approved")
		})
	})
}

func refund(t *testing.T, s *Stack, paymentID string, amount int64) (int, models.Refund, string) {
	t.Helper()
	r, err := s.Client(0).Post(context.Background(), "/v1/payments/"+paymentID+"/refunds", map[string]any{"amount": amount}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	var out models.Refund
	_ = r.JSON(&out)
	var p struct{ Code string }
	_ = r.JSON(&p)
	return r.Status, out, p.Code
}

func waitRefund(t *testing.T, s *Stack, id string) models.Refund {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, r, err := s.Client(0).WaitStatus(ctx, "/v1/refunds/"+id, 200*time.Millisecond, "processing")
	require.NoError(t, err)
	var out models.Refund
	require.NoError(t, r.JSON(&out))
	return out
}

func TestRefunds(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		p := createPayment(t, s, card(1000, "tok_success"))
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, p.ID, 30*time.Second).Status)

		status, r1, _ := refund(t, s, p.ID, 400)
		require.Equal(t, 202, status)
		require.Equal(t, models.RefundSucceeded, waitRefund(t, s, r1.ID).Status)
		got := waitPayment(t, s, p.ID, 5*time.Second)
		require.Equal(t, models.PaymentPartiallyRefunded, got.Status)
		require.Equal(t, int64(400), got.AmountRefunded)

		// Five concurrent refunds of 200 against the 600 left: exactly three pass.
		var wg sync.WaitGroup
		var mu sync.Mutex
		var accepted []string
		refusals := 0
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, r, code := refund(t, s, p.ID, 200)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case status == 202:
					accepted = append(accepted, r.ID)
				case status == 422 && code == "amount_exceeds_refundable":
					refusals++
				default:
					t.Errorf("refund answered %d %s", status, code)
				}
			}()
		}
		wg.Wait()
		require.Len(t, accepted, 3)
		require.Equal(t, 2, refusals)
		for _, id := range accepted {
			require.Equal(t, models.RefundSucceeded, waitRefund(t, s, id).Status)
			require.Equal(t, 1, executions(t, s, id))
		}
		got = waitPayment(t, s, p.ID, 5*time.Second)
		require.Equal(t, models.PaymentRefunded, got.Status)
		require.Equal(t, int64(1000), got.AmountRefunded)
		status, _, code := refund(t, s, p.ID, 1)
		require.Equal(t, 422, status)
		require.Equal(t, "amount_exceeds_refundable", code)

		// A declined payment cannot be refunded.
		d := createPayment(t, s, card(500, "tok_decline"))
		waitPayment(t, s, d.ID, 30*time.Second)
		status, _, code = refund(t, s, d.ID, 100)
		require.Equal(t, 422, status)
		require.Equal(t, "amount_exceeds_refundable", code)

		// A wallet payment's refund credits the wallet.
		w := fundedWallet(t, s, 2000)
		wp := createPayment(t, s, map[string]any{"amount": 1500, "currency": "CNY", "source": map[string]any{"type": "account", "account_id": w.ID}})
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, wp.ID, 30*time.Second).Status)
		require.Equal(t, int64(500), getWallet(t, s, w.ID).Balance)
		status, wr, _ := refund(t, s, wp.ID, 1500)
		require.Equal(t, 202, status)
		require.Equal(t, models.RefundSucceeded, waitRefund(t, s, wr.ID).Status)
		require.Equal(t, int64(2000), getWallet(t, s, w.ID).Balance)
		require.True(t, ledgerCheck(t, s).OK)
	})
}

// A merchant disabled while its card payment waits on the bank: when the bank
// succeeds, the posting is refused, the charge is reversed at the bank exactly once
// and the payment ends failed merchant_disabled, with nothing posted.
func TestCompensationWhenMerchantDisabledMidFlight(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		_, err := s.Bank(context.Background(), "POST", "/sim/faults", `{"processing_ms":3000}`)
		require.NoError(t, err)
		defer s.Bank(context.Background(), "POST", "/sim/faults", `{}`)
		p := createPayment(t, s, card(1200, "tok_processing"))
		waitAtBank(t, s, p.ID)
		status, body := opsAct(t, s, "/v1/ops/merchants/mch_demo/disable", `{"reason":"compliance hold"}`)
		require.Equal(t, 200, status, "%v", body)
		enabled := false
		defer func() {
			if !enabled {
				opsAct(t, s, "/v1/ops/merchants/mch_demo/enable", "")
			}
		}()
		got := waitPayment(t, s, p.ID, 60*time.Second)
		status, _ = opsAct(t, s, "/v1/ops/merchants/mch_demo/enable", `{"reason":"cleared"}`)
		require.Equal(t, 200, status)
		enabled = true
		require.Equal(t, models.PaymentFailed, got.Status)
		require.Equal(t, models.FailureMerchantDisabled, got.FailureCode)
		require.Equal(t, 1, executions(t, s, p.ID))
		require.Equal(t, 1, executions(t, s, models.ReversalReference(p.ID)), "the charge must be reversed exactly once")
		require.True(t, ledgerCheck(t, s).OK)
	})
}
