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
	// deferred, in a group transaction, holds the journals and entries to write at
	// its end; nil: Post writes them at once.
	deferred *deferred
	// cache, in a group transaction, answers the accounts the process's groups last
	// committed (accountCache); nil: every account is read.
	cache *accountCache
}

// load reads the accounts the transaction touches, once each.
func (t *Tx) load(ids ...string) error {
	var missing []string
	for _, id := range ids {
		if _, ok := t.accounts[id]; ok {
			continue
		}
		if t.cache != nil {
			if r, ok := t.cache.get(id); ok {
				t.accounts[id] = &accountState{row: r, origVersion: r.Version}
				continue
			}
		}
		missing = append(missing, id)
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
	if t.deferred != nil {
		// In a group, only the group's own keys are looked up; a key posted before
		// the group fails the group's insert, and the call runs again alone.
		if j, ok := t.deferred.keys[p.Key]; ok {
			return j, nil
		}
	} else if existing, err := t.journalByKey(p.Key); err != nil {
		return Journal{}, err
	} else if existing != nil {
		return Journal{ID: existing.ID, Key: existing.IdempotencyKey, CreatedAt: existing.CreatedAt, Existing: true}, nil
	}
	if err := validatePosting(p); err != nil {
		return Journal{}, err
	}
	// Touch accounts in id order, so that two transactions over the same accounts
	// lock them in the same order (no deadlock on MySQL).
	ids := make([]string, len(p.Legs))
	for i, l := range p.Legs {
		ids[i] = l.AccountID
	}
	sort.Strings(ids)
	if err := t.load(ids...); err != nil {
		return Journal{}, err
	}
	now := time.Now().UTC()
	j, entries, err := applyPosting(t.accounts, p, now)
	if err != nil {
		return Journal{}, err
	}
	if t.deferred != nil {
		t.deferred.add(j, entries)
	} else {
		// A key a concurrent transaction posted first is store.ErrConflict: the
		// transaction runs again and finds it.
		if err := insertJournals(t.db, []journalRow{j}); err != nil {
			return Journal{}, fmt.Errorf("post %s: %w", p.Key, err)
		}
		if err := insertEntries(t.db, entries); err != nil {
			return Journal{}, fmt.Errorf("post %s: %w", p.Key, err)
		}
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

// flush writes the cached balances and held amounts of the accounts the transaction
// changed, with their version check (flushAccounts); a version that moved since the
// read is a conflict and the whole transaction is retried.
func (t *Tx) flush() error {
	return flushAccounts(t.db, t.accounts)
}
