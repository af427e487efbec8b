package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

type accountView struct {
	ID        string `json:"id"`
	Currency  string `json:"currency"`
	Balance   int64  `json:"balance"`
	Available int64  `json:"available"`
	Held      int64  `json:"held"`
	// Withdrawable is available less the top-ups within the withdrawal delay.
	Withdrawable int64 `json:"withdrawable"`
}

func createWallet(t *testing.T, s *Stack) accountView {
	t.Helper()
	r, err := s.Client(0).Post(context.Background(), "/v1/accounts", map[string]any{"currency": "CNY", "reference": "customer-42"}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	var a accountView
	require.NoError(t, r.JSON(&a))
	return a
}

func getWallet(t *testing.T, s *Stack, id string) accountView {
	t.Helper()
	r, err := s.Client(0).Get(context.Background(), "/v1/accounts/"+id)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var a accountView
	require.NoError(t, r.JSON(&a))
	return a
}

// topUp charges a card into the wallet and waits for the top-up to finish.
func topUp(t *testing.T, s *Stack, wallet string, amount int64, token string) models.Topup {
	t.Helper()
	r, err := s.Client(0).Post(context.Background(), "/v1/topups", map[string]any{
		"account_id": wallet, "amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": token},
	}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var top models.Topup
	require.NoError(t, r.JSON(&top))
	require.Equal(t, models.TopupProcessing, top.Status)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, last, err := s.Client(0).WaitStatus(ctx, "/v1/topups/"+top.ID, 200*time.Millisecond, "processing")
	require.NoError(t, err)
	require.NoError(t, last.JSON(&top))
	return top
}

func TestWalletTopupAndStatement(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		w := createWallet(t, s)
		require.Equal(t, int64(0), w.Balance)
		ok := topUp(t, s, w.ID, 5000, "tok_success")
		require.Equal(t, models.TopupSucceeded, ok.Status)
		declined := topUp(t, s, w.ID, 999, "tok_decline")
		require.Equal(t, models.TopupFailed, declined.Status)
		require.Equal(t, models.FailureCardDeclined, declined.FailureCode)
		slow := topUp(t, s, w.ID, 1000, "tok_processing")
		require.Equal(t, models.TopupSucceeded, slow.Status)
		got := getWallet(t, s, w.ID)
		require.Equal(t, int64(6000), got.Balance)
		require.Equal(t, int64(6000), got.Available)
		require.Equal(t, 1, executions(t, s, ok.ID))

		var statement struct {
			Data []struct {
				JournalID    string `json:"journal_id"`
				Amount       int64  `json:"amount"`
				BalanceAfter int64  `json:"balance_after"`
				Flow         string `json:"flow"`
				FlowID       string `json:"flow_id"`
			} `json:"data"`
			HasMore bool `json:"has_more"`
		}
		r, err := s.Client(0).Get(context.Background(), "/v1/accounts/"+w.ID+"/entries?limit=10")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.NoError(t, r.JSON(&statement))
		require.Len(t, statement.Data, 2)
		require.Equal(t, int64(6000), statement.Data[0].BalanceAfter, "newest first")
		require.Equal(t, slow.ID, statement.Data[0].FlowID)
		require.Equal(t, "topup", statement.Data[1].Flow)
		require.Equal(t, int64(5000), statement.Data[1].BalanceAfter)
	})
}

// 20 concurrent wallet payments of 500 against a wallet of 7000 through the API: 14
// succeed, 6 fail insufficient_funds, the balance ends at 0 and the ledger holds.
func TestConcurrentWalletPayments(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		w := createWallet(t, s)
		require.Equal(t, models.TopupSucceeded, topUp(t, s, w.ID, 7000, "tok_success").Status)
		var wg sync.WaitGroup
		ids := make([]string, 20)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p := createPayment(t, s, map[string]any{"amount": 500, "currency": "CNY", "source": map[string]any{"type": "account", "account_id": w.ID}})
				ids[i] = p.ID
			}(i)
		}
		wg.Wait()
		succeeded, nsf := 0, 0
		for _, id := range ids {
			p := waitPayment(t, s, id, 60*time.Second)
			switch {
			case p.Status == models.PaymentSucceeded:
				succeeded++
			case p.Status == models.PaymentFailed && p.FailureCode == models.FailureInsufficientFunds:
				nsf++
			default:
				t.Errorf("payment %s ended %s %s", id, p.Status, p.FailureCode)
			}
		}
		require.Equal(t, 14, succeeded)
		require.Equal(t, 6, nsf)
		require.Equal(t, int64(0), getWallet(t, s, w.ID).Balance)
		rep := ledgerCheck(t, s)
		require.True(t, rep.OK, "%+v", rep)
	})
}

// A wallet payment with a fee: the merchant gets the amount less the fee, rounded in
// the platform's favour; a wallet in another currency is refused before anything runs.
func TestWalletPaymentRefusals(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		w := createWallet(t, s)
		r, err := s.Client(0).Post(context.Background(), "/v1/payments", map[string]any{
			"amount": 500, "currency": "USD", "source": map[string]any{"type": "account", "account_id": w.ID},
		}, "e2e-"+models.NewID(""))
		require.NoError(t, err)
		require.Equal(t, 422, r.Status)
		p := createPayment(t, s, map[string]any{"amount": 1, "currency": "CNY", "source": map[string]any{"type": "account", "account_id": w.ID}})
		got := waitPayment(t, s, p.ID, 30*time.Second)
		require.Equal(t, models.PaymentFailed, got.Status)
		require.Equal(t, models.FailureInsufficientFunds, got.FailureCode)
	})
}
