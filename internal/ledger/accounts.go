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

type accountRow struct {
	ID           string `gorm:"primaryKey"`
	SystemKey    string
	MerchantID   string
	Kind         string
	Currency     string
	Channel      string
	Reference    string
	TrackBalance int
	Balance      int64
	Held         int64
	Version      int64
	CreatedAt    time.Time
}

func (accountRow) TableName() string { return "accounts" }

func (r accountRow) model() Account {
	return Account{
		ID:         r.ID,
		MerchantID: r.MerchantID,
		Kind:       AccountKind(r.Kind),
		Currency:   models.Currency(r.Currency),
		Channel:    r.Channel,
		Reference:  r.Reference,
		Balance:    r.Balance,
		Held:       r.Held,
		Version:    r.Version,
		CreatedAt:  r.CreatedAt,
	}
}

// AccountSpec names a singleton account of the chart: a merchant's settlement account
// in a currency, the clearing account of a channel and currency, or the fees account
// of a currency.
type AccountSpec struct {
	Kind       AccountKind
	MerchantID string
	Currency   models.Currency
	Channel    string
	// Owner is the wallet a fund position account belongs to.
	Owner string
}

// SystemKey is the unique key of the singleton account.
func (s AccountSpec) SystemKey() string {
	switch s.Kind {
	case KindMerchantSettlement:
		return fmt.Sprintf("%s/%s/%s", s.Kind, s.MerchantID, s.Currency)
	case KindBankClearing:
		return fmt.Sprintf("%s/%s/%s", s.Kind, s.Channel, s.Currency)
	case KindFundPosition:
		return fmt.Sprintf("%s/%s/%s", s.Kind, s.Owner, s.Currency)
	default:
		return fmt.Sprintf("%s/%s", s.Kind, s.Currency)
	}
}

// SettlementSpec is the merchant's settlement account in currency.
func SettlementSpec(merchantID string, c models.Currency) AccountSpec {
	return AccountSpec{Kind: KindMerchantSettlement, MerchantID: merchantID, Currency: c}
}

// RealChannel reports whether money can be cleared at channel: a named channel that
// is not a router.
func RealChannel(channel string) bool { return channel != "" && channel != models.ChannelAuto }

// ClearingSpec is the bank clearing account of a channel in currency.
func ClearingSpec(channel string, c models.Currency) AccountSpec {
	return AccountSpec{Kind: KindBankClearing, Channel: channel, Currency: c}
}

// FeesSpec is the platform's fees account in currency.
func FeesSpec(c models.Currency) AccountSpec {
	return AccountSpec{Kind: KindFees, Currency: c}
}

// EnsureAccount returns the id of the singleton account spec names, creating it on
// first use. It runs outside any posting transaction: a concurrent creator wins on the
// unique system key and the loser reads the winner's row in a fresh statement.
func (l *Ledger) EnsureAccount(ctx context.Context, spec AccountSpec) (string, error) {
	if !spec.Currency.ValidAsset() {
		return "", fmt.Errorf("account %s: %w", spec.SystemKey(), models.ErrUnsupportedCurrency)
	}
	if spec.Kind == KindBankClearing && !RealChannel(spec.Channel) {
		// Money is cleared at the bank that moved it; a router (auto) moves nothing.
		return "", fmt.Errorf("%w: account %s: a clearing account belongs to a real channel, not %q", ErrRejected, spec.SystemKey(), spec.Channel)
	}
	key := spec.SystemKey()
	db := l.db.WithContext(ctx)
	var row accountRow
	err := db.Select("id").Where("system_key = ?", key).Take(&row).Error
	if err == nil {
		return row.ID, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", fmt.Errorf("account %s: %w", key, err)
	}
	track := 0
	if spec.Kind.tracked() {
		track = 1
	}
	row = accountRow{
		ID:           models.NewID(models.PrefixAccount),
		SystemKey:    key,
		MerchantID:   spec.MerchantID,
		Kind:         string(spec.Kind),
		Currency:     string(spec.Currency),
		Channel:      spec.Channel,
		Reference:    spec.Owner,
		TrackBalance: track,
		CreatedAt:    time.Now().UTC(),
	}
	if err := db.Create(&row).Error; err != nil {
		if !store.IsDuplicate(err) {
			return "", fmt.Errorf("create account %s: %w", key, err)
		}
		// A fresh row: gorm would add the loser's own (never inserted) id to the
		// query's conditions and find nothing.
		var winner accountRow
		if err := db.Select("id").Where("system_key = ?", key).Take(&winner).Error; err != nil {
			return "", fmt.Errorf("account %s: %w", key, err)
		}
		return winner.ID, nil
	}
	return row.ID, nil
}

// OpenMerchantAccounts creates a merchant's chart of accounts in its default currency
// (settlement), and the platform's fees account of that currency.
func (l *Ledger) OpenMerchantAccounts(ctx context.Context, merchantID string, c models.Currency) error {
	if _, err := l.EnsureAccount(ctx, SettlementSpec(merchantID, c)); err != nil {
		return err
	}
	_, err := l.EnsureAccount(ctx, FeesSpec(c))
	return err
}

// NewWallet returns a new customer wallet row for the caller to insert in its own
// transaction (with the idempotency key of the request that creates it).
func NewWallet(id, merchantID string, c models.Currency, reference string) Account {
	return Account{ID: id, MerchantID: merchantID, Kind: KindCustomerWallet, Currency: c, Reference: reference, CreatedAt: time.Now().UTC()}
}

// InsertWallet inserts a wallet made by NewWallet inside tx.
func InsertWallet(tx *gorm.DB, a Account) error {
	if a.Kind != KindCustomerWallet || !a.Currency.Valid() {
		return fmt.Errorf("insert wallet %s: not a valid wallet", a.ID)
	}
	row := accountRow{
		ID:           a.ID,
		SystemKey:    a.ID,
		MerchantID:   a.MerchantID,
		Kind:         string(a.Kind),
		Currency:     string(a.Currency),
		Reference:    a.Reference,
		TrackBalance: 1,
		CreatedAt:    a.CreatedAt.UTC(),
	}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("insert wallet %s: %w", a.ID, err)
	}
	return nil
}

// Account returns an account by id. merchantID scopes the lookup to one merchant's
// accounts ("" for any, for internal callers); another merchant's account is
// ErrAccountNotFound.
func (l *Ledger) Account(ctx context.Context, merchantID, id string) (Account, error) {
	q := l.db.WithContext(ctx).Where("id = ?", id)
	if merchantID != "" {
		q = q.Where("merchant_id = ?", merchantID)
	}
	var row accountRow
	if err := q.Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Account{}, fmt.Errorf("account %s: %w", id, ErrAccountNotFound)
		}
		return Account{}, fmt.Errorf("account %s: %w", id, err)
	}
	a := row.model()
	if row.TrackBalance == 0 {
		// Platform accounts keep no cache: sum their entries.
		var sum struct{ Total int64 }
		if err := l.db.WithContext(ctx).Model(&entryRow{}).Select("COALESCE(SUM(amount), 0) AS total").
			Where("account_id = ?", id).Scan(&sum).Error; err != nil {
			return Account{}, fmt.Errorf("sum account %s: %w", id, err)
		}
		a.Balance = sum.Total
	}
	return a, nil
}

// AccountBySpec returns a singleton account, or ErrAccountNotFound.
func (l *Ledger) AccountBySpec(ctx context.Context, spec AccountSpec) (Account, error) {
	var row accountRow
	if err := l.db.WithContext(ctx).Select("id").Where("system_key = ?", spec.SystemKey()).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Account{}, fmt.Errorf("account %s: %w", spec.SystemKey(), ErrAccountNotFound)
		}
		return Account{}, err
	}
	return l.Account(ctx, "", row.ID)
}

// StatementLine is one entry of an account's statement.
type StatementLine struct {
	EntryID      string
	JournalID    string
	Amount       int64
	Currency     models.Currency
	BalanceAfter int64
	Flow         models.Flow
	FlowID       string
	CreatedAt    time.Time
}

// HasEntry reports whether entryID is an entry of the account (a statement's
// cursor must be one).
func (l *Ledger) HasEntry(ctx context.Context, accountID, entryID string) (bool, error) {
	var n int64
	if err := l.db.WithContext(ctx).Table("entries").Where("id = ? AND account_id = ?", entryID, accountID).Count(&n).Error; err != nil {
		return false, fmt.Errorf("entry %s of %s: %w", entryID, accountID, err)
	}
	return n > 0, nil
}

// Statement returns up to limit entries of an account, newest first, older than the
// entry startingAfter, and whether more follow.
func (l *Ledger) Statement(ctx context.Context, accountID string, limit int, startingAfter string) ([]StatementLine, bool, error) {
	q := l.db.WithContext(ctx).Table("entries AS e").
		Select("e.id AS entry_id, e.journal_id, e.amount, e.currency, e.balance_after, j.flow, j.flow_id, e.created_at").
		Joins("JOIN journals AS j ON j.id = e.journal_id").
		Where("e.account_id = ?", accountID)
	if startingAfter != "" {
		q = q.Where("e.id < ?", startingAfter)
	}
	var rows []struct {
		EntryID      string
		JournalID    string
		Amount       int64
		Currency     string
		BalanceAfter int64
		Flow         string
		FlowID       string
		CreatedAt    time.Time
	}
	if err := q.Order("e.id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("statement of %s: %w", accountID, err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]StatementLine, len(rows))
	for i, r := range rows {
		out[i] = StatementLine{
			EntryID: r.EntryID, JournalID: r.JournalID, Amount: r.Amount, Currency: models.Currency(r.Currency),
			BalanceAfter: r.BalanceAfter, Flow: models.Flow(r.Flow), FlowID: r.FlowID, CreatedAt: r.CreatedAt.UTC(),
		}
	}
	return out, more, nil
}
