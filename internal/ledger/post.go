package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

type journalRow struct {
	ID             string `gorm:"primaryKey"`
	IdempotencyKey string
	Flow           string
	FlowID         string
	MerchantID     string
	Description    string
	CreatedAt      time.Time
}

func (journalRow) TableName() string { return "journals" }

type entryRow struct {
	ID             string `gorm:"primaryKey"`
	JournalID      string
	AccountID      string
	Amount         int64
	Currency       string
	BalanceAfter   int64
	AccountVersion int64
	CreatedAt      time.Time
}

func (entryRow) TableName() string { return "entries" }

// Leg is one side of a posting: an amount (credit positive) on an account.
type Leg struct {
	AccountID string
	Amount    int64
}

// Posting is a journal to append: its idempotency key, the flow that posts it, and
// legs that must sum to zero.
type Posting struct {
	Key         string
	Flow        models.Flow
	FlowID      string
	MerchantID  string
	Description string
	Currency    models.Currency
	Legs        []Leg
}

// Journal is an appended journal.
type Journal struct {
	ID        string
	Key       string
	CreatedAt time.Time
	// Existing is true when the key had been posted before: nothing new was written.
	Existing bool
}

// accountState is an account as one transaction sees it: the row read at the start
// and the changes the transaction made to it.
type accountState struct {
	row         accountRow
	origVersion int64
	dirty       bool
}

// Tx is one unit of work: the ledger's postings and hold changes, and (through the
// embedded store.Tx) the status changes of the objects they book, committed together.
type Tx struct {
	*store.Tx
	db       *gorm.DB
	accounts map[string]*accountState
}

// load reads the accounts the transaction touches, once each.
func (t *Tx) load(ids ...string) error {
	var missing []string
	for _, id := range ids {
		if _, ok := t.accounts[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var rows []accountRow
	if err := t.db.Where("id IN ?", missing).Find(&rows).Error; err != nil {
		return fmt.Errorf("load accounts: %w", err)
	}
	for _, r := range rows {
		t.accounts[r.ID] = &accountState{row: r, origVersion: r.Version}
	}
	for _, id := range missing {
		if _, ok := t.accounts[id]; !ok {
			return fmt.Errorf("%w: %s", ErrAccountNotFound, id)
		}
	}
	return nil
}

// Posted returns the journal posted under key, and whether there is one: an activity
// that acts looks its key up first, so that a run after a committed first run answers
// what the first did, whatever changed since.
func (l *Ledger) Posted(ctx context.Context, key string) (Journal, bool, error) {
	var row journalRow
	err := l.db.WithContext(ctx).Where("idempotency_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Journal{}, false, nil
	}
	if err != nil {
		return Journal{}, false, fmt.Errorf("journal %s: %w", key, err)
	}
	return Journal{ID: row.ID, Key: row.IdempotencyKey, CreatedAt: row.CreatedAt, Existing: true}, true, nil
}

// journalByKey returns the journal posted under key, or nil.
func (t *Tx) journalByKey(key string) (*journalRow, error) {
	var row journalRow
	err := t.db.Where("idempotency_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", key, err)
	}
	return &row, nil
}

// Post appends a balanced journal, or returns the journal already posted under its
// key. A leg that would take a wallet or settlement account's available balance below
// zero fails with ErrInsufficientFunds (wrapped in ErrRejected) and writes nothing.
func (t *Tx) Post(p Posting) (Journal, error) {
	if p.Key == "" {
		return Journal{}, fmt.Errorf("%w: posting without idempotency key", ErrRejected)
	}
	if existing, err := t.journalByKey(p.Key); err != nil {
		return Journal{}, err
	} else if existing != nil {
		return Journal{ID: existing.ID, Key: existing.IdempotencyKey, CreatedAt: existing.CreatedAt, Existing: true}, nil
	}
	if err := validatePosting(p); err != nil {
		return Journal{}, err
	}
	// Touch accounts in id order, so that two transactions over the same accounts
	// lock them in the same order (no deadlock on MySQL).
	legs := append([]Leg(nil), p.Legs...)
	sort.Slice(legs, func(i, j int) bool { return legs[i].AccountID < legs[j].AccountID })
	ids := make([]string, len(legs))
	for i, l := range legs {
		ids[i] = l.AccountID
	}
	if err := t.load(ids...); err != nil {
		return Journal{}, err
	}
	now := time.Now().UTC()
	j := journalRow{
		ID:             models.NewID(models.PrefixJournal),
		IdempotencyKey: p.Key,
		Flow:           string(p.Flow),
		FlowID:         p.FlowID,
		MerchantID:     p.MerchantID,
		Description:    p.Description,
		CreatedAt:      now,
	}
	entries := make([]entryRow, 0, len(legs))
	for _, l := range legs {
		st := t.accounts[l.AccountID]
		if st.row.Currency != string(p.Currency) {
			return Journal{}, fmt.Errorf("%w: %w: account %s is %s, posting %s", ErrRejected, ErrCurrencyMismatch, l.AccountID, st.row.Currency, p.Currency)
		}
		e := entryRow{
			ID:        models.NewID(models.PrefixEntry),
			JournalID: j.ID,
			AccountID: l.AccountID,
			Amount:    l.Amount,
			Currency:  string(p.Currency),
			CreatedAt: now,
		}
		if st.row.TrackBalance == 1 {
			bal, err := models.AddChecked(st.row.Balance, l.Amount)
			if err != nil {
				return Journal{}, fmt.Errorf("%w: account %s: %w", ErrRejected, l.AccountID, err)
			}
			if l.Amount < 0 && bal-st.row.Held < 0 {
				return Journal{}, fmt.Errorf("%w: %w: account %s has %d available, needs %d",
					ErrRejected, ErrInsufficientFunds, l.AccountID, st.row.Balance-st.row.Held, -l.Amount)
			}
			st.row.Balance = bal
			st.row.Version++
			st.dirty = true
			e.BalanceAfter = bal
			e.AccountVersion = st.row.Version
		}
		entries = append(entries, e)
	}
	if err := t.db.Create(&j).Error; err != nil {
		if store.IsDuplicate(err) {
			// A concurrent transaction posted this key first; retry to find it.
			return Journal{}, store.ErrConflict
		}
		return Journal{}, fmt.Errorf("insert journal %s: %w", p.Key, err)
	}
	if err := t.db.Create(&entries).Error; err != nil {
		if store.IsDuplicate(err) {
			return Journal{}, store.ErrConflict
		}
		return Journal{}, fmt.Errorf("insert entries of %s: %w", p.Key, err)
	}
	return Journal{ID: j.ID, Key: p.Key, CreatedAt: now}, nil
}

// validatePosting checks the rules every journal obeys before anything is read.
func validatePosting(p Posting) error {
	if !p.Currency.ValidAsset() {
		return fmt.Errorf("%w: %w", ErrRejected, models.ErrUnsupportedCurrency)
	}
	if len(p.Legs) < 2 {
		return fmt.Errorf("%w: %w: a journal needs at least two legs", ErrRejected, ErrUnbalanced)
	}
	seen := make(map[string]bool, len(p.Legs))
	var sum int64
	for _, l := range p.Legs {
		if l.Amount == 0 {
			return fmt.Errorf("%w: zero leg on %s", ErrRejected, l.AccountID)
		}
		if l.Amount > models.MaxAmount || l.Amount < -models.MaxAmount {
			return fmt.Errorf("%w: %w: leg of %d", ErrRejected, models.ErrInvalidAmount, l.Amount)
		}
		if seen[l.AccountID] {
			return fmt.Errorf("%w: two legs on account %s", ErrRejected, l.AccountID)
		}
		seen[l.AccountID] = true
		var err error
		if sum, err = models.AddChecked(sum, l.Amount); err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
	}
	if sum != 0 {
		return fmt.Errorf("%w: %w: legs sum to %d", ErrRejected, ErrUnbalanced, sum)
	}
	return nil
}

// flush writes the cached balances of the accounts the transaction changed, each with
// its version check; a version that moved since the read is a conflict and the whole
// transaction is retried.
func (t *Tx) flush() error {
	ids := make([]string, 0, len(t.accounts))
	for id, st := range t.accounts {
		if st.dirty {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		st := t.accounts[id]
		res := t.db.Model(&accountRow{}).
			Where("id = ? AND version = ?", id, st.origVersion).
			Updates(map[string]any{"balance": st.row.Balance, "held": st.row.Held, "version": st.row.Version})
		if res.Error != nil {
			return fmt.Errorf("update account %s: %w", id, res.Error)
		}
		if res.RowsAffected != 1 {
			return store.ErrConflict
		}
	}
	return nil
}
