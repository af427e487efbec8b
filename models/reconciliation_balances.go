package models

// BalanceGapReferencePrefix starts the reference of a balance_gap difference,
// which is followed by the currency: "balance/CNY".
const BalanceGapReferencePrefix = "balance/"

// CheckBalancesInput asks for the balance check of one run, after its statement
// was reconciled (its line differences are stored).
type CheckBalancesInput struct {
	ReconciliationID string `json:"reconciliation_id"`
	Channel          string `json:"channel"`
	Date             string `json:"date"`
}

// CheckBalancesResult is the balance check's outcome: Checked is false when the
// channel reports no balances (nothing was compared), BalanceGap is the number of
// currencies whose gap the line differences do not explain (a balance_gap
// difference each).
type CheckBalancesResult struct {
	Checked    bool  `json:"checked"`
	BalanceGap int64 `json:"balance_gap"`
}
