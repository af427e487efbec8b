package starter_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
)

// signals records the merchant-disabled signals; a flow in ended has closed.
type signals struct {
	mu    sync.Mutex
	sent  []string
	ended map[string]bool
}

func (s *signals) SignalMerchantDisabled(_ context.Context, workflowID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended[workflowID] {
		return fmt.Errorf("signal %s: %w", workflowID, starter.ErrFlowNotFound)
	}
	s.sent = append(s.sent, workflowID)
	return nil
}

// A disable wakes the flow of each of the merchant's withdrawals pending approval
// (over more than one page), and no other: not one already paying out, not another
// merchant's; one whose flow has ended is passed over. An enable wakes nothing, and
// a second disable wakes the same flows again.
func TestDisableWakesWithdrawalsPendingApproval(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := time.Now().UTC()
	withdrawal := func(merchant string, status models.WithdrawalStatus) models.Withdrawal {
		w := models.Withdrawal{ID: models.NewID(models.PrefixWithdrawal), Object: "withdrawal", MerchantID: merchant,
			AccountID: models.NewID(models.PrefixAccount), Amount: 200000, Currency: "CNY",
			Destination: models.Destination{BankAccount: "ba_success"}, Channel: "banksim", Status: status, CreatedAt: now, UpdatedAt: now}
		w.WorkflowID = workflows.WithdrawalWorkflowID(merchant, w.ID)
		return w
	}
	var pending, others []models.Withdrawal
	for range 103 {
		pending = append(pending, withdrawal("mch_demo", models.WithdrawalPendingApproval))
	}
	others = append(others, withdrawal("mch_demo", models.WithdrawalProcessing), withdrawal("mch_off", models.WithdrawalPendingApproval))
	require.NoError(t, e.db.Transaction(func(tx *gorm.DB) error {
		for _, w := range append(append([]models.Withdrawal{}, pending...), others...) {
			if err := store.InsertWithdrawal(tx, w); err != nil {
				return err
			}
		}
		return nil
	}))
	sig := &signals{ended: map[string]bool{pending[0].WorkflowID: true}}
	svc := &starter.Merchants{Deps: e.deps, Flows: sig}

	want := map[string]bool{}
	for _, w := range pending[1:] {
		want[w.WorkflowID] = true
	}
	woken := func() map[string]bool {
		sig.mu.Lock()
		defer sig.mu.Unlock()
		got := map[string]bool{}
		for _, id := range sig.sent {
			require.False(t, got[id], "%s woken twice by one disable", id)
			got[id] = true
		}
		sig.sent = nil
		return got
	}
	require.NoError(t, svc.SetStatus(ctx, "mch_demo", models.MerchantDisabled))
	require.Equal(t, want, woken())
	require.NoError(t, svc.SetStatus(ctx, "mch_demo", models.MerchantActive))
	require.Empty(t, woken())
	require.NoError(t, svc.SetStatus(ctx, "mch_demo", models.MerchantDisabled))
	require.NoError(t, svc.SetStatus(ctx, "mch_demo", models.MerchantDisabled))
	require.Len(t, sig.sent, 2*len(want), "each disable wakes them again")
	require.ErrorIs(t, svc.SetStatus(ctx, "mch_nope", models.MerchantDisabled), starter.ErrNotFound)
}
