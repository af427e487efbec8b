package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

type holdRow struct {
	ID             string `gorm:"primaryKey"`
	IdempotencyKey string
	AccountID      string
	Amount         int64
	Currency       string
	Flow           string
	FlowID         string
	CreatedAt      time.Time
}

func (holdRow) TableName() string { return "holds" }

type holdClosureRow struct {
	HoldID    string `gorm:"primaryKey"`
	Kind      string
	JournalID string
	CreatedAt time.Time
}

func (holdClosureRow) TableName() string { return "hold_closures" }

// Hold closure kinds.
const (
	HoldSettled  = "settled"
	HoldReleased = "released"
)

// Hold is a reservation of part of an account's available balance.
type Hold struct {
	ID        string
	AccountID string
	Amount    int64
	Currency  models.Currency
	// Closed is "", HoldSettled or HoldReleased.
	Closed    string
	JournalID string
	Existing  bool
}

// HoldRequest asks for a hold under an idempotency key derived from the flow and step.
type HoldRequest struct {
	Key       string
	AccountID string
	Amount    int64
	Currency  models.Currency
	Flow      models.Flow
	FlowID    string
	// RecentSince, when set, holds only money that is not recent: the account's
	// top-up credits since then stay out of what the hold may take (a withdrawal
	// under the merchant's withdrawal delay).
	RecentSince time.Time
}

// PlaceHold reserves amount of the account's available balance, or returns the hold
// placed before under the same key. Not enough available money fails with
// ErrInsufficientFunds (wrapped in ErrRejected) and holds nothing; enough available
// money of which too much is recent (RecentSince) fails with ErrNotYetWithdrawable.
func (t *Tx) PlaceHold(r HoldRequest) (Hold, error) {
	if r.Key == "" {
		return Hold{}, fmt.Errorf("%w: hold without idempotency key", ErrRejected)
	}
	if existing, ok, err := t.HoldByKey(r.Key); err != nil || ok {
		return existing, err
	}
	if err := models.ValidateAmount(r.Amount); err != nil {
		return Hold{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if err := t.load(r.AccountID); err != nil {
		return Hold{}, err
	}
	st := t.accounts[r.AccountID]
	if st.row.Currency != string(r.Currency) {
		return Hold{}, fmt.Errorf("%w: %w: account %s is %s, hold %s", ErrRejected, ErrCurrencyMismatch, r.AccountID, st.row.Currency, r.Currency)
	}
	if st.row.TrackBalance != 1 {
		return Hold{}, fmt.Errorf("%w: holds are for wallets and settlement accounts", ErrRejected)
	}
	if st.row.Balance-st.row.Held < r.Amount {
		return Hold{}, fmt.Errorf("%w: %w: account %s has %d available, hold needs %d",
			ErrRejected, ErrInsufficientFunds, r.AccountID, st.row.Balance-st.row.Held, r.Amount)
	}
	if !r.RecentSince.IsZero() {
		// Read after the account row, in this transaction: a top-up committed since
		// changed the row's version, and this transaction's write of it conflicts
		// and runs again.
		if t.deferred != nil {
			if err := t.deferred.write(t.db); err != nil {
				return Hold{}, err
			}
		}
		recent, err := recentTopups(t.db, r.AccountID, r.RecentSince)
		if err != nil {
			return Hold{}, err
		}
		if a := (Account{Balance: st.row.Balance, Held: st.row.Held, Recent: recent}); a.Withdrawable() < r.Amount {
			return Hold{}, fmt.Errorf("%w: %w: account %s has %d available, of which %d was topped up since %s; hold needs %d",
				ErrRejected, ErrNotYetWithdrawable, r.AccountID, a.Available(), recent, r.RecentSince.UTC().Format(time.RFC3339), r.Amount)
		}
	}
	held, err := models.AddChecked(st.row.Held, r.Amount)
	if err != nil {
		return Hold{}, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	st.row.Held = held
	st.row.Version++
	st.dirty = true
	row := holdRow{
		ID:             models.NewID(models.PrefixHold),
		IdempotencyKey: r.Key,
		AccountID:      r.AccountID,
		Amount:         r.Amount,
		Currency:       string(r.Currency),
		Flow:           string(r.Flow),
		FlowID:         r.FlowID,
		CreatedAt:      time.Now().UTC(),
	}
	if err := t.db.Create(&row).Error; err != nil {
		if store.IsDuplicate(err) {
			return Hold{}, store.ErrConflict
		}
		return Hold{}, fmt.Errorf("insert hold %s: %w", r.Key, err)
	}
	return Hold{ID: row.ID, AccountID: row.AccountID, Amount: row.Amount, Currency: r.Currency}, nil
}

// HoldByKey returns the hold placed under key (Existing, with its closure), and
// whether there is one.
func (t *Tx) HoldByKey(key string) (Hold, bool, error) {
	var existing holdRow
	err := t.db.Where("idempotency_key = ?", key).Take(&existing).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return Hold{}, false, nil
	case err != nil:
		return Hold{}, false, fmt.Errorf("hold %s: %w", key, err)
	}
	h, err := t.holdWithClosure(existing)
	return h, err == nil, err
}

func (t *Tx) holdWithClosure(h holdRow) (Hold, error) {
	out := Hold{ID: h.ID, AccountID: h.AccountID, Amount: h.Amount, Currency: models.Currency(h.Currency), Existing: true}
	var c holdClosureRow
	err := t.db.Where("hold_id = ?", h.ID).Take(&c).Error
	switch {
	case err == nil:
		out.Closed, out.JournalID = c.Kind, c.JournalID
	case !errors.Is(err, gorm.ErrRecordNotFound):
		return Hold{}, fmt.Errorf("closure of hold %s: %w", h.ID, err)
	}
	return out, nil
}

func (t *Tx) hold(id string) (Hold, error) {
	var h holdRow
	if err := t.db.Where("id = ?", id).Take(&h).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Hold{}, fmt.Errorf("%w: %s", ErrHoldNotFound, id)
		}
		return Hold{}, fmt.Errorf("hold %s: %w", id, err)
	}
	return t.holdWithClosure(h)
}

// SettleHold closes the hold and posts the journal that moves the held money (it must
// debit the held account by the hold's amount), in this transaction. Settling a
// settled hold returns its journal; settling a released one is ErrHoldClosed.
func (t *Tx) SettleHold(holdID string, p Posting) (Journal, error) {
	h, err := t.hold(holdID)
	if err != nil {
		return Journal{}, err
	}
	switch h.Closed {
	case HoldSettled:
		return Journal{ID: h.JournalID, Key: p.Key, Existing: true}, nil
	case HoldReleased:
		return Journal{}, fmt.Errorf("%w: %w: %s was released", ErrRejected, ErrHoldClosed, holdID)
	}
	debit := false
	for _, l := range p.Legs {
		if l.AccountID == h.AccountID && l.Amount == -h.Amount {
			debit = true
		}
	}
	if !debit {
		return Journal{}, fmt.Errorf("%w: settling hold %s must debit %s by %d", ErrRejected, holdID, h.AccountID, h.Amount)
	}
	if err := t.unhold(h); err != nil {
		return Journal{}, err
	}
	j, err := t.Post(p)
	if err != nil {
		return Journal{}, err
	}
	if err := t.close(h.ID, HoldSettled, j.ID); err != nil {
		return Journal{}, err
	}
	return j, nil
}

// ReleaseHold closes the hold and gives its amount back to the available balance.
// Releasing a released hold is a no-op; releasing a settled one is ErrHoldClosed.
func (t *Tx) ReleaseHold(holdID string) (Hold, error) {
	h, err := t.hold(holdID)
	if err != nil {
		return Hold{}, err
	}
	switch h.Closed {
	case HoldReleased:
		return h, nil
	case HoldSettled:
		return Hold{}, fmt.Errorf("%w: %w: %s was settled", ErrRejected, ErrHoldClosed, holdID)
	}
	if err := t.unhold(h); err != nil {
		return Hold{}, err
	}
	if err := t.close(h.ID, HoldReleased, ""); err != nil {
		return Hold{}, err
	}
	h.Closed = HoldReleased
	return h, nil
}

func (t *Tx) unhold(h Hold) error {
	if err := t.load(h.AccountID); err != nil {
		return err
	}
	st := t.accounts[h.AccountID]
	if st.row.Held < h.Amount {
		return fmt.Errorf("account %s holds %d, less than hold %s of %d", h.AccountID, st.row.Held, h.ID, h.Amount)
	}
	st.row.Held -= h.Amount
	st.row.Version++
	st.dirty = true
	return nil
}

func (t *Tx) close(holdID, kind, journalID string) error {
	err := t.db.Create(&holdClosureRow{HoldID: holdID, Kind: kind, JournalID: journalID, CreatedAt: time.Now().UTC()}).Error
	if store.IsDuplicate(err) {
		return store.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("close hold %s: %w", holdID, err)
	}
	return nil
}

// recentTopups sums the top-up credits to account since a time.
func recentTopups(db *gorm.DB, account string, since time.Time) (int64, error) {
	var sum struct{ Total int64 }
	err := db.Table("entries AS e").Select("COALESCE(SUM(e.amount), 0) AS total").
		Joins("JOIN journals AS j ON j.id = e.journal_id").
		Where("e.account_id = ? AND e.created_at >= ? AND e.amount > 0 AND j.flow = ?", account, since.UTC(), string(models.FlowTopup)).
		Scan(&sum).Error
	if err != nil {
		return 0, fmt.Errorf("recent top-ups of %s: %w", account, err)
	}
	return sum.Total, nil
}

// RecentTopups is what top-ups credited to account since a time.
func (l *Ledger) RecentTopups(ctx context.Context, account string, since time.Time) (int64, error) {
	return recentTopups(l.db.WithContext(ctx), account, since)
}
