package store

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/payflow/payflow/models"
)

type withdrawalRow struct {
	ID          string `gorm:"primaryKey"`
	MerchantID  string
	AccountID   string
	Amount      int64
	Currency    string
	BankAccount string
	Channel     string
	Status      string
	FailureCode string
	Reason      string
	NotifyURL   string
	WorkflowID  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (withdrawalRow) TableName() string { return "withdrawals" }

func (r withdrawalRow) model() models.Withdrawal {
	dest := models.Destination{BankAccount: r.BankAccount}
	if strings.HasPrefix(r.BankAccount, models.PrefixBoundCard) {
		dest = models.Destination{BoundCard: r.BankAccount}
	}
	return models.Withdrawal{
		ID: r.ID, Object: "withdrawal", MerchantID: r.MerchantID, AccountID: r.AccountID, Amount: r.Amount,
		Currency: models.Currency(r.Currency), Destination: dest,
		Channel: r.Channel, Status: models.WithdrawalStatus(r.Status), FailureCode: models.FailureCode(r.FailureCode),
		Reason: r.Reason, NotifyURL: r.NotifyURL, WorkflowID: r.WorkflowID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// InsertWithdrawal adds a new withdrawal inside the caller's transaction.
func InsertWithdrawal(tx *gorm.DB, w models.Withdrawal) error {
	row := withdrawalRow{
		ID: w.ID, MerchantID: w.MerchantID, AccountID: w.AccountID, Amount: w.Amount, Currency: string(w.Currency),
		BankAccount: cmp.Or(w.Destination.BoundCard, w.Destination.BankAccount), Channel: w.Channel, Status: string(w.Status), FailureCode: string(w.FailureCode),
		NotifyURL: w.NotifyURL, WorkflowID: w.WorkflowID, CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
	return insertRow(tx, &row, "withdrawal", w.ID)
}

// LockWalletWithdrawnSince locks the wallet's account row until the caller's
// transaction ends (SELECT ... FOR UPDATE on MySQL; on SQLite the transaction, which
// has written already, holds the database's one write lock) and returns what the
// wallet's withdrawals created at or after since, not failed or canceled, move. Two
// transactions that lock the same wallet first cannot both pass a check of the sum.
func LockWalletWithdrawnSince(tx *gorm.DB, accountID string, since time.Time) (int64, error) {
	var ids []string
	if err := tx.Table("accounts").Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("id = ?", accountID).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("lock account %s: %w", accountID, translate(err))
	}
	var sum int64
	if err := tx.Model(&withdrawalRow{}).Select("COALESCE(SUM(amount), 0)").
		Where("account_id = ? AND created_at >= ? AND status NOT IN ?", accountID, since.UTC(),
			[]string{string(models.WithdrawalFailed), string(models.WithdrawalCanceled)}).
		Scan(&sum).Error; err != nil {
		return 0, fmt.Errorf("sum withdrawals of %s: %w", accountID, translate(err))
	}
	return sum, nil
}

// Withdrawal returns the merchant's withdrawal ("" merchant: anyone's), or ErrNotFound.
func (s *Store) Withdrawal(ctx context.Context, merchantID, id string) (models.Withdrawal, error) {
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if merchantID != "" {
		q = q.Where("merchant_id = ?", merchantID)
	}
	return takeModel[withdrawalRow](q, "withdrawal", id)
}

// ListWithdrawals returns up to q.Limit of the merchant's withdrawals (in q.Status
// when set) older than q.StartingAfter, newest first, and whether more follow.
func (s *Store) ListWithdrawals(ctx context.Context, q ListQuery) ([]models.Withdrawal, bool, error) {
	return newestOfMerchant[withdrawalRow](ctx, s.db, q, "list withdrawals")
}

// SetWithdrawalStatus records a withdrawal's status in the transaction. A terminal status is
// never overwritten, so that a replayed activity cannot move a finished withdrawal.
func (t *Tx) SetWithdrawalStatus(id string, status models.WithdrawalStatus, code models.FailureCode, reason string) error {
	updates := map[string]any{"status": string(status), "failure_code": string(code), "updated_at": time.Now().UTC()}
	if reason != "" {
		updates["reason"] = reason
	}
	res := t.db.Model(&withdrawalRow{}).
		Where("id = ? AND status IN ?", id, []string{string(models.WithdrawalProcessing), string(models.WithdrawalPendingApproval)}).
		Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("set status of %s: %w", id, translate(res.Error))
	}
	return nil
}
