// Package ledger is payflow's double-entry ledger, the source of truth for money.
//
// Every movement is one journal whose entries sum to zero per currency. Journals,
// entries, holds and hold closures are appended, never updated or deleted; a
// correction is a new journal. Amounts are signed from the account holder's side,
// credit positive: a customer wallet or a merchant settlement account (liabilities)
// grows with positive entries and may never go below zero, while the bank clearing
// account (an asset) carries the negative of the money the bank holds for us and the
// fees account (revenue) grows with each fee.
//
// Accounts that must never go negative (wallets, settlement) keep a cached balance,
// held amount and version, changed only with optimistic concurrency (UPDATE ... WHERE
// version = ?) in the transaction that appends their entries; a conflict retries the
// whole transaction. Platform accounts keep no cache: their balance is summed from
// their entries, so that they are not a hot row every posting must lock.
//
// Every posting and hold carries an idempotency key derived from the flow and the step
// (payment/<id>/capture): running it twice, or concurrently, finds the first result.
package ledger

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// AccountKind is the role of an account in the chart of accounts.
type AccountKind string

// Account kinds of the ledger (docs/ledger.md).
const (
	KindCustomerWallet     AccountKind = "customer_wallet"
	KindMerchantSettlement AccountKind = "merchant_settlement"
	KindBankClearing       AccountKind = "bank_clearing"
	KindFees               AccountKind = "fees"
)

// tracked reports whether accounts of the kind keep a cached balance and may never
// go negative.
func (k AccountKind) tracked() bool {
	return k == KindCustomerWallet || k == KindMerchantSettlement || k == KindFundPosition
}

// Errors of the ledger. ErrInsufficientFunds and ErrRejected are business outcomes;
// the others are bugs or missing data.
var (
	ErrInsufficientFunds = errors.New("insufficient available funds")
	// ErrNotYetWithdrawable: enough money is available, but part of it was topped up
	// too recently to leave the wallet (the merchant's withdrawal delay).
	ErrNotYetWithdrawable = errors.New("available funds not yet withdrawable")
	ErrUnbalanced         = errors.New("journal does not sum to zero")
	ErrCurrencyMismatch   = errors.New("account currency differs from the posting's")
	ErrAccountNotFound    = errors.New("account not found")
	ErrHoldNotFound       = errors.New("hold not found")
	ErrHoldClosed         = errors.New("hold already closed differently")
	// ErrRejected wraps every refusal of a posting by a ledger rule.
	ErrRejected = errors.New("posting rejected")
)

// Account is an account of the chart, with its balances.
type Account struct {
	ID         string
	MerchantID string
	Kind       AccountKind
	Currency   models.Currency
	Channel    string
	Reference  string
	Balance    int64
	Held       int64
	Version    int64
	CreatedAt  time.Time
	// Recent is what top-ups credited to the account within the merchant's withdrawal
	// delay; only the wallets service fills it in (see Ledger.RecentTopups).
	Recent int64
}

// Available is the balance less open holds.
func (a Account) Available() int64 { return a.Balance - a.Held }

// Withdrawable is what may leave the account now: the available balance less
// recent top-ups (never below zero). The recent money is counted as still there even
// if the wallet has spent since, so that spending old money first cannot free new.
func (a Account) Withdrawable() int64 { return max(a.Available()-a.Recent, 0) }

// Ledger posts journals and answers balances.
type Ledger struct {
	db *store.DB
	// maxAttempts bounds the retries of one transaction on version conflicts.
	maxAttempts int
	// batchSlots bounds the PostBatch transactions in flight (maxBatchTxs).
	batchSlots chan struct{}
	// group gathers concurrent Run calls into one transaction (group.go); nil: off.
	group *grouper
	// observe, when set, hears of every group transaction (ObserveGroups).
	observe func(calls int, committed bool)
}

// New returns a Ledger on db.
func New(db *store.DB) *Ledger {
	l := &Ledger{db: db, maxAttempts: 50, batchSlots: make(chan struct{}, maxBatchTxs)}
	l.SetGroup(DefaultGroupMax, DefaultGroupSlots)
	return l
}

// Run runs fn in one transaction (store.Transact): the ledger's postings and holds,
// and the status changes of the objects they book (the embedded store.Tx), commit
// together or not at all. The whole transaction runs again when an optimistic update
// finds a newer version or the database rolled it back (a deadlock, SQLite busy); fn
// must be safe to run more than once (it is: everything it wrote rolled back).
//
// Concurrent calls are committed in groups (group.go): fn may then run in a
// transaction with other calls' fns, and again on its own if the group failed. The
// outcome is the one of running alone. fn must not call Run itself: its call would
// wait for the group that runs fn.
func (l *Ledger) Run(ctx context.Context, fn func(tx *Tx) error) error {
	if g := l.group; g != nil {
		return l.runGrouped(ctx, g, fn)
	}
	return l.runAlone(ctx, fn)
}

// runAlone runs fn in a transaction of its own.
func (l *Ledger) runAlone(ctx context.Context, fn func(tx *Tx) error) error {
	return l.db.Transact(ctx, l.maxAttempts, func(gtx *gorm.DB) error {
		tx := &Tx{Tx: store.NewTx(gtx), db: gtx, accounts: map[string]*accountState{}}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.flush()
	})
}
