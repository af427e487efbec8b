package ledger

import (
	"context"
	"fmt"

	"github.com/payflow/payflow/models"
)

// CheckReport is the ledger's invariants recomputed from the entries themselves.
type CheckReport struct {
	Journals           int64            `json:"journals"`
	Entries            int64            `json:"entries"`
	Unbalanced         []UnbalancedItem `json:"unbalanced"`
	NegativeAccounts   []AccountItem    `json:"negative_accounts"`
	MismatchedBalances []AccountItem    `json:"mismatched_balances"`
	MismatchedHolds    []AccountItem    `json:"mismatched_holds"`
	// RouterClearing are clearing accounts named after a router (auto) rather than
	// the bank that moved the money: their entries cannot be reconciled.
	RouterClearing []AccountItem `json:"router_clearing"`
	// PositiveFundIncome are fund income clearing accounts (KindFundIncome) with a
	// positive balance: they only pay income out, so money went the wrong way.
	PositiveFundIncome []AccountItem `json:"positive_fund_income"`
	OK                 bool          `json:"ok"`
}

// UnbalancedItem is a journal whose entries do not sum to zero in a currency.
type UnbalancedItem struct {
	JournalID string `json:"journal_id"`
	Currency  string `json:"currency"`
	Sum       int64  `json:"sum"`
}

// AccountItem is an account that breaks an invariant: its stored value and the value
// recomputed from the facts.
type AccountItem struct {
	AccountID string `json:"account_id"`
	Kind      string `json:"kind"`
	Stored    int64  `json:"stored"`
	Computed  int64  `json:"computed"`
}

// Check recomputes the invariants: every journal sums to zero per currency, no wallet
// or settlement account is negative, every cached balance equals the sum of its
// entries, and every cached held amount equals the sum of its open holds.
func (l *Ledger) Check(ctx context.Context) (CheckReport, error) {
	db := l.db.WithContext(ctx)
	r := CheckReport{Unbalanced: []UnbalancedItem{}, NegativeAccounts: []AccountItem{}, MismatchedBalances: []AccountItem{}, MismatchedHolds: []AccountItem{}, RouterClearing: []AccountItem{}, PositiveFundIncome: []AccountItem{}}
	if err := db.Table("journals").Count(&r.Journals).Error; err != nil {
		return r, fmt.Errorf("count journals: %w", err)
	}
	if err := db.Table("entries").Count(&r.Entries).Error; err != nil {
		return r, fmt.Errorf("count entries: %w", err)
	}
	if err := db.Raw(`SELECT journal_id, currency, SUM(amount) AS sum FROM entries
		GROUP BY journal_id, currency HAVING SUM(amount) <> 0 ORDER BY journal_id LIMIT 1000`).
		Scan(&r.Unbalanced).Error; err != nil {
		return r, fmt.Errorf("unbalanced journals: %w", err)
	}
	var accounts []struct {
		ID      string
		Kind    string
		Balance int64
		Held    int64
		Summed  int64
		Holds   int64
	}
	if err := db.Raw(`SELECT a.id, a.kind, a.balance, a.held,
			COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a.id), 0) AS summed,
			COALESCE((SELECT SUM(h.amount) FROM holds h WHERE h.account_id = a.id
				AND NOT EXISTS (SELECT 1 FROM hold_closures c WHERE c.hold_id = h.id)), 0) AS holds
		FROM accounts a WHERE a.track_balance = 1 ORDER BY a.id`).Scan(&accounts).Error; err != nil {
		return r, fmt.Errorf("account balances: %w", err)
	}
	for _, a := range accounts {
		if a.Summed < 0 || a.Balance < 0 || a.Balance-a.Held < 0 {
			r.NegativeAccounts = append(r.NegativeAccounts, AccountItem{AccountID: a.ID, Kind: a.Kind, Stored: a.Balance, Computed: a.Summed})
		}
		if a.Balance != a.Summed {
			r.MismatchedBalances = append(r.MismatchedBalances, AccountItem{AccountID: a.ID, Kind: a.Kind, Stored: a.Balance, Computed: a.Summed})
		}
		if a.Held != a.Holds {
			r.MismatchedHolds = append(r.MismatchedHolds, AccountItem{AccountID: a.ID, Kind: a.Kind, Stored: a.Held, Computed: a.Holds})
		}
	}
	var routed []struct {
		ID     string
		Kind   string
		Summed int64
	}
	if err := db.Raw(`SELECT a.id, a.kind, COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a.id), 0) AS summed
		FROM accounts a WHERE a.kind = ? AND (a.channel = '' OR a.channel = ?) ORDER BY a.id`,
		string(KindBankClearing), models.ChannelAuto).Scan(&routed).Error; err != nil {
		return r, fmt.Errorf("router clearing accounts: %w", err)
	}
	for _, a := range routed {
		r.RouterClearing = append(r.RouterClearing, AccountItem{AccountID: a.ID, Kind: a.Kind, Computed: a.Summed})
	}
	routed = nil
	if err := db.Raw(`SELECT a.id, a.kind, COALESCE((SELECT SUM(e.amount) FROM entries e WHERE e.account_id = a.id), 0) AS summed
		FROM accounts a WHERE a.kind = ? ORDER BY a.id`, string(KindFundIncome)).Scan(&routed).Error; err != nil {
		return r, fmt.Errorf("fund income accounts: %w", err)
	}
	for _, a := range routed {
		if a.Summed > 0 {
			r.PositiveFundIncome = append(r.PositiveFundIncome, AccountItem{AccountID: a.ID, Kind: a.Kind, Computed: a.Summed})
		}
	}
	r.OK = len(r.Unbalanced) == 0 && len(r.NegativeAccounts) == 0 && len(r.MismatchedBalances) == 0 &&
		len(r.MismatchedHolds) == 0 && len(r.RouterClearing) == 0 && len(r.PositiveFundIncome) == 0
	return r, nil
}
