package starter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// limitsEnv opens a database of backend b with a merchant whose withdrawals are
// limited to perTx each and daily a day per wallet, and one wallet of it.
func limitsEnv(t *testing.T, b testenv.Backend, perTx, daily *int64) (*store.DB, *starter.Wallets, string) {
	t.Helper()
	e := newEnvOn(t, b)
	ctx := context.Background()
	require.NoError(t, (&merchants.Service{Store: e.store, Ledger: e.ledger}).Create(ctx, models.Merchant{
		ID: "mch_lim", Name: "Limited", DefaultCurrency: "CNY", Status: models.MerchantActive,
		WithdrawalLimitPerTransaction: perTx, WithdrawalLimitDaily: daily,
	}, "s", "whsec_s"))
	svc := &starter.Wallets{Deps: e.deps, Flows: e.flows}
	acct, err := svc.CreateAccount(ctx, starter.NewAccount{Idempotent: starter.Idempotent{MerchantID: "mch_lim", Key: "k-a", Fingerprint: "fp-a"}, Currency: "CNY"})
	require.NoError(t, err)
	return e.db, svc, acct.Object.ID
}

func withdraw(svc *starter.Wallets, wallet, key string, amount int64) (starter.Created[models.Withdrawal], error) {
	return svc.CreateWithdrawal(context.Background(), starter.NewWithdrawal{
		Idempotent: starter.Idempotent{MerchantID: "mch_lim", Key: key, Fingerprint: "fp-" + key},
		AccountID:  wallet, Amount: amount, Currency: "CNY", BankAccount: "ba_success", Channel: "banksim",
	})
}

func countWithdrawals(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Table("withdrawals").Count(&n).Error)
	return n
}

// Withdrawals one after another against a per-transaction limit of 1000 and a daily
// one of 2500: each refusal names its limit and what remains, and stores nothing; a
// failed withdrawal no longer counts toward the day.
func TestWithdrawalLimits(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			perTx, daily := int64(1000), int64(2500)
			db, svc, wallet := limitsEnv(t, b, &perTx, &daily)
			steps := []struct {
				amount    int64
				limit     string
				remaining int64
			}{
				{1001, starter.LimitPerTransaction, 1000},
				{1000, "", 0},
				{1000, "", 0},
				{600, starter.LimitDaily, 500},
				{500, "", 0},
				{1, starter.LimitDaily, 0},
			}
			var ids []string
			for i, s := range steps {
				stored := countWithdrawals(t, db)
				out, err := withdraw(svc, wallet, fmt.Sprintf("k-%d", i), s.amount)
				if s.limit == "" {
					require.NoError(t, err, "step %d", i)
					ids = append(ids, out.Object.ID)
					continue
				}
				var over *starter.LimitExceededError
				require.ErrorAs(t, err, &over, "step %d", i)
				require.Equal(t, s.limit, over.Limit, "step %d", i)
				require.Equal(t, s.remaining, over.Remaining, "step %d", i)
				require.Equal(t, stored, countWithdrawals(t, db), "a refused withdrawal stores nothing")
			}
			require.Len(t, ids, 3)

			tx := store.NewTx(db.DB)
			require.NoError(t, tx.SetWithdrawalStatus(ids[0], models.WithdrawalFailed, models.FailureAccountClosed, ""))
			_, err := withdraw(svc, wallet, "k-after-failure", 1000)
			require.NoError(t, err, "a failed withdrawal frees its part of the day")
		})
	}
}

// Concurrent withdrawals of one wallet: no more pass than the daily limit allows.
func TestWithdrawalDailyLimitUnderConcurrency(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			daily := int64(1000)
			db, svc, wallet := limitsEnv(t, b, nil, &daily)
			const n = 8
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = withdraw(svc, wallet, fmt.Sprintf("k-c%d", i), 300)
				}()
			}
			wg.Wait()
			passed := 0
			for _, err := range errs {
				var over *starter.LimitExceededError
				switch {
				case err == nil:
					passed++
				case errors.As(err, &over):
				default:
					t.Fatalf("unexpected error: %v", err)
				}
			}
			require.Equal(t, 3, passed, "3 × 300 fit in 1000")
			require.Equal(t, int64(3), countWithdrawals(t, db))
		})
	}
}
