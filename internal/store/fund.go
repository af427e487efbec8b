package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

type riskProfileRow struct {
	AccountID  string `gorm:"primaryKey"`
	MerchantID string
	Level      int
	AssessedAt time.Time
}

func (riskProfileRow) TableName() string { return "risk_profiles" }

// SetRiskProfile records the level a wallet's owner was assessed at, replacing an
// earlier assessment.
func (s *Store) SetRiskProfile(ctx context.Context, merchantID string, p models.RiskProfile) error {
	row := riskProfileRow{AccountID: p.AccountID, MerchantID: merchantID, Level: p.Level, AssessedAt: p.AssessedAt.UTC()}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&riskProfileRow{}).Where("account_id = ?", p.AccountID).
			Updates(map[string]any{"level": row.Level, "assessed_at": row.AssessedAt})
		if res.Error != nil || res.RowsAffected == 1 {
			return res.Error
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return fmt.Errorf("risk profile of %s: %w", p.AccountID, translate(err))
	}
	return nil
}

// RiskProfile returns a wallet's assessment, or ErrNotFound when it has none.
func (s *Store) RiskProfile(ctx context.Context, accountID string) (models.RiskProfile, error) {
	var row riskProfileRow
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Take(&row).Error; err != nil {
		return models.RiskProfile{}, fmt.Errorf("risk profile of %s: %w", accountID, translate(err))
	}
	return models.RiskProfile{AccountID: row.AccountID, Level: row.Level, AssessedAt: row.AssessedAt.UTC()}, nil
}

type fundOrderRow struct {
	ID                  string `gorm:"primaryKey"`
	Kind                string
	MerchantID          string
	AccountID           string
	ProductID           string
	Currency            string
	Status              string
	Amount              int64
	Shares              int64
	NAV                 int64 `gorm:"column:nav"`
	Fee                 int64
	TradeDate           string
	ExpectedConfirmDate string
	ExpectedSettleDate  string
	FailureCode         string
	NotifyURL           string
	CreatedAt           time.Time
	ConfirmedAt         *time.Time
	PaidAt              *time.Time
	UpdatedAt           time.Time
}

func (fundOrderRow) TableName() string { return "fund_orders" }

func (r fundOrderRow) model() models.FundOrder {
	return models.FundOrder{
		ID: r.ID, Object: r.Kind, AccountID: r.AccountID, ProductID: r.ProductID, Status: models.FundOrderStatus(r.Status),
		Currency: models.Currency(r.Currency), Amount: r.Amount, Shares: r.Shares, NAV: r.NAV, Fee: r.Fee,
		TradeDate: r.TradeDate, ExpectedConfirmDate: r.ExpectedConfirmDate, ExpectedSettleDate: r.ExpectedSettleDate,
		FailureCode: models.FailureCode(r.FailureCode), CreatedAt: r.CreatedAt.UTC(),
		ConfirmedAt: utcPtr(r.ConfirmedAt), PaidAt: utcPtr(r.PaidAt),
	}
}

// InsertFundOrder inserts a new order (processing) inside tx, the idempotency
// transaction of the request that creates it; notifyURL is where its outcome goes.
func InsertFundOrder(tx *gorm.DB, merchantID, notifyURL string, o models.FundOrder) error {
	row := fundOrderRow{NotifyURL: notifyURL,
		ID: o.ID, Kind: string(o.Kind()), MerchantID: merchantID, AccountID: o.AccountID, ProductID: o.ProductID,
		Currency: string(o.Currency), Status: string(o.Status), Amount: o.Amount, Shares: o.Shares,
		TradeDate: o.TradeDate, ExpectedConfirmDate: o.ExpectedConfirmDate, ExpectedSettleDate: o.ExpectedSettleDate,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.CreatedAt.UTC(),
	}
	return insertRow(tx, &row, row.Kind, o.ID)
}

// FundOrder returns one of the merchant's orders of the kind, or ErrNotFound.
func (s *Store) FundOrder(ctx context.Context, merchantID string, kind models.FundOrderKind, id string) (models.FundOrder, error) {
	return takeModel[fundOrderRow](s.ofMerchant(ctx, merchantID, id).Where("kind = ?", string(kind)), string(kind), id)
}

// FundOrderOwner returns an order's merchant and kind (a fund company's callback
// names only the order).
func (s *Store) FundOrderOwner(ctx context.Context, id string) (string, models.FundOrderKind, error) {
	var row fundOrderRow
	if err := s.db.WithContext(ctx).Select("merchant_id", "kind").Where("id = ?", id).Take(&row).Error; err != nil {
		return "", "", fmt.Errorf("fund order %s: %w", id, translate(err))
	}
	return row.MerchantID, models.FundOrderKind(row.Kind), nil
}

// FundOrderUpdate is a step of an order's flow, recorded in the transaction that
// posts it: Confirmed (with the fund company's numbers), Paid, or Failed.
type FundOrderUpdate struct {
	Status      models.FundOrderStatus
	FailureCode models.FailureCode
	Amount      int64
	Shares      int64
	NAV         int64
	Fee         int64
	At          time.Time
}

// ErrFundOrderStep: the order is not where the step starts from (a replay of a step
// that committed finds it done, and changes nothing).
var ErrFundOrderStep = errors.New("fund order not at that step")

// SetFundOrderStep moves an order to u.Status: from processing to confirmed or
// failed, from confirmed to paid. It reports false, changing nothing, when the order
// is elsewhere.
func (t *Tx) SetFundOrderStep(id string, u FundOrderUpdate) (bool, error) {
	at := u.At.UTC()
	updates := map[string]any{"status": string(u.Status), "updated_at": at}
	from := models.FundOrderProcessing
	switch u.Status {
	case models.FundOrderConfirmed:
		updates["amount"], updates["shares"], updates["nav"], updates["fee"] = u.Amount, u.Shares, u.NAV, u.Fee
		updates["confirmed_at"] = at
	case models.FundOrderFailed:
		updates["failure_code"] = string(u.FailureCode)
	case models.FundOrderPaid:
		from = models.FundOrderConfirmed
		updates["paid_at"] = at
	default:
		return false, fmt.Errorf("%w: %s", ErrFundOrderStep, u.Status)
	}
	res := t.db.Model(&fundOrderRow{}).Where("id = ? AND status = ?", id, string(from)).Updates(updates)
	if res.Error != nil {
		return false, fmt.Errorf("fund order %s to %s: %w", id, u.Status, translate(res.Error))
	}
	return res.RowsAffected == 1, nil
}

// fundOrderSweep is an order as the flow sweeper restarts it: its flow's input
// (without the poll, which is configuration).
type fundOrderSweep fundOrderRow

func (fundOrderSweep) TableName() string { return "fund_orders" }

func (r fundOrderSweep) model() models.FundOrderInput {
	return models.FundOrderInput{
		OrderID: r.ID, Kind: models.FundOrderKind(r.Kind), MerchantID: r.MerchantID, AccountID: r.AccountID,
		ProductID: r.ProductID, Currency: models.Currency(r.Currency), Amount: r.Amount, Shares: r.Shares,
		TradeDate: r.TradeDate, NotifyURL: r.NotifyURL, CreatedAt: r.CreatedAt.UTC(),
	}
}

// FundOrdersToSweep returns the processing orders of the kind p selects (see
// SweepPage), as their flows' inputs.
func (s *Store) FundOrdersToSweep(ctx context.Context, kind models.FundOrderKind, p SweepPage) ([]models.FundOrderInput, error) {
	return sweepPage[fundOrderSweep](ctx, s.db, string(kind)+"s", string(models.FundOrderProcessing), p,
		func(q *gorm.DB) *gorm.DB { return q.Where("kind = ?", string(kind)) })
}
