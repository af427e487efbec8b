package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

// The balance yield's rows (migration 00064): wallets' opt-ins, wallet-days and
// runs. The day's engine (package yield) reads and writes wallet-days itself, a page
// at a time; this file answers the API and the run's bookkeeping.

type yieldWalletRow struct {
	AccountID  string `gorm:"primaryKey"`
	MerchantID string
	Enabled    int
	EnabledAt  time.Time
	DisabledAt *time.Time
	UpdatedAt  time.Time
}

func (yieldWalletRow) TableName() string { return "yield_wallets" }

type yieldRunRow struct {
	ID            string `gorm:"primaryKey"`
	ProductID     string
	Day           string
	Status        string
	IncomePer10k  int64 `gorm:"column:income_per_10k"`
	Wallets       int64
	TotalCredited int64
	CarriedTotal  int64
	Error         string
	WorkflowID    string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
}

func (yieldRunRow) TableName() string { return "yield_runs" }

func (r yieldRunRow) model() models.YieldRun {
	return models.YieldRun{
		ID: r.ID, ProductID: r.ProductID, Date: r.Day, Status: models.YieldRunStatus(r.Status),
		IncomePer10k: r.IncomePer10k, Wallets: r.Wallets, TotalCredited: r.TotalCredited, CarriedTotal: r.CarriedTotal,
		Error: r.Error, WorkflowID: r.WorkflowID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), FinishedAt: utcPtr(r.FinishedAt),
	}
}

// SetYieldOptIn turns a wallet's balance yield on or off at now. A wallet earns for a
// day when it was opted in at the day's end: enabling keeps the time of an opt-in
// already on (so that a repeated request does not postpone it), and disabling
// records when, so that a day that ended before still pays.
func (s *Store) SetYieldOptIn(ctx context.Context, accountID, merchantID string, enabled bool, now time.Time) error {
	now = now.UTC()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row yieldWalletRow
		err := tx.Where("account_id = ?", accountID).Take(&row).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if !enabled {
				return nil // never opted in: nothing to turn off
			}
			row = yieldWalletRow{AccountID: accountID, MerchantID: merchantID, Enabled: 1, EnabledAt: now, UpdatedAt: now}
			if err := tx.Create(&row).Error; err != nil && !IsDuplicate(err) {
				return fmt.Errorf("opt in %s: %w", accountID, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("opt-in of %s: %w", accountID, err)
		}
		if (row.Enabled == 1) == enabled {
			return nil
		}
		upd := map[string]any{"enabled": 0, "disabled_at": now, "updated_at": now}
		if enabled {
			upd = map[string]any{"enabled": 1, "enabled_at": now, "disabled_at": nil, "updated_at": now}
		}
		if err := tx.Model(&yieldWalletRow{}).Where("account_id = ?", accountID).Updates(upd).Error; err != nil {
			return fmt.Errorf("opt-in of %s: %w", accountID, err)
		}
		return nil
	})
}

// YieldSummary is a wallet's balance yield: whether it is opted in, what it was
// credited in all, the numerator it carries now, and its latest days (newest first).
type YieldSummary struct {
	Enabled       bool
	TotalCredited int64
	Carry         int64
	Days          []models.YieldDayRow
}

// YieldSummary answers a wallet's yield with its latest `days` days.
func (s *Store) YieldSummary(ctx context.Context, accountID string, days int) (YieldSummary, error) {
	db := s.db.WithContext(ctx)
	var out YieldSummary
	var w yieldWalletRow
	err := db.Where("account_id = ?", accountID).Take(&w).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return out, fmt.Errorf("opt-in of %s: %w", accountID, err)
	}
	out.Enabled = err == nil && w.Enabled == 1
	var sum struct{ Total int64 }
	if err := db.Table("yield_days").Select("COALESCE(SUM(income), 0) AS total").Where("account_id = ?", accountID).Scan(&sum).Error; err != nil {
		return out, fmt.Errorf("yield of %s: %w", accountID, err)
	}
	out.TotalCredited = sum.Total
	var rows []struct {
		AccountID string
		Day       string
		Balance   int64
		Income    int64
		Carry     int64
		JournalID string
	}
	if err := db.Table("yield_days").Where("account_id = ?", accountID).Order("day DESC").Limit(days).Scan(&rows).Error; err != nil {
		return out, fmt.Errorf("yield days of %s: %w", accountID, err)
	}
	out.Days = make([]models.YieldDayRow, len(rows))
	for i, r := range rows {
		out.Days[i] = models.YieldDayRow{AccountID: r.AccountID, Date: r.Day, Balance: r.Balance, Income: r.Income, Carry: r.Carry, JournalID: r.JournalID}
	}
	if len(rows) > 0 {
		out.Carry = rows[0].Carry
	}
	return out, nil
}

// OpenYieldRun returns the run of a product and day, or creates it (running, with
// id and workflowID); created says whether this call created it. Of two concurrent
// calls one creates and the other gets that run: the unique (product, day) key
// decides.
func (s *Store) OpenYieldRun(ctx context.Context, id, productID, day, workflowID string) (models.YieldRun, bool, error) {
	db := s.db.WithContext(ctx)
	var row yieldRunRow
	err := db.Where("product_id = ? AND day = ?", productID, day).Take(&row).Error
	if err == nil {
		return row.model(), false, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return models.YieldRun{}, false, fmt.Errorf("yield run %s %s: %w", productID, day, err)
	}
	now := time.Now().UTC()
	row = yieldRunRow{ID: id, ProductID: productID, Day: day, Status: string(models.YieldRunRunning), WorkflowID: workflowID, CreatedAt: now, UpdatedAt: now}
	if err := db.Create(&row).Error; err != nil {
		if !IsDuplicate(err) {
			return models.YieldRun{}, false, fmt.Errorf("create yield run %s %s: %w", productID, day, err)
		}
		if err := db.Where("product_id = ? AND day = ?", productID, day).Take(&row).Error; err != nil {
			return models.YieldRun{}, false, fmt.Errorf("yield run %s %s: %w", productID, day, err)
		}
		return row.model(), false, nil
	}
	return row.model(), true, nil
}

// YieldRun returns a run by id; ErrNotFound.
func (s *Store) YieldRun(ctx context.Context, id string) (models.YieldRun, error) {
	return takeModel[yieldRunRow](s.db.WithContext(ctx).Where("id = ?", id), "yield run", id)
}

// FinishYieldRun records a run's end and totals, once: recorded is false when the
// run had ended before (a retried activity).
func (s *Store) FinishYieldRun(ctx context.Context, in models.FinishYieldRunInput) (bool, error) {
	now := time.Now().UTC()
	res := s.db.WithContext(ctx).Model(&yieldRunRow{}).
		Where("id = ? AND status = ?", in.RunID, string(models.YieldRunRunning)).
		Updates(map[string]any{
			"status": string(in.Status), "income_per_10k": in.IncomePer10k, "wallets": in.Totals.Wallets,
			"total_credited": in.Totals.Credited, "carried_total": in.Totals.Carried, "error": in.Error,
			"updated_at": now, "finished_at": now,
		})
	if res.Error != nil {
		return false, fmt.Errorf("finish yield run %s: %w", in.RunID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RestartYieldRun sets a failed run running again (an operator's request for its
// day, or the next schedule firing), so that its workflow can run it once more;
// it answers the run as it now is.
func (s *Store) RestartYieldRun(ctx context.Context, id string) (models.YieldRun, error) {
	res := s.db.WithContext(ctx).Model(&yieldRunRow{}).
		Where("id = ? AND status = ?", id, string(models.YieldRunFailed)).
		Updates(map[string]any{"status": string(models.YieldRunRunning), "error": "", "finished_at": nil, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return models.YieldRun{}, fmt.Errorf("restart yield run %s: %w", id, res.Error)
	}
	return s.YieldRun(ctx, id)
}

// YieldRunOfDay returns the run of a product's day, or ErrNotFound when the day has
// none.
func (s *Store) YieldRunOfDay(ctx context.Context, productID, day string) (models.YieldRun, error) {
	return takeModel[yieldRunRow](s.db.WithContext(ctx).Where("product_id = ? AND day = ?", productID, day), "yield run", productID+"/"+day)
}
