package ledger

import (
	"fmt"

	"github.com/payflow/payflow/models"
)

// KindFundIncome is the fund company's income clearing account of a currency: the
// counterpart of the balance yield's credits. It pays the money-market product's
// income into wallets, so its balance (summed from its entries, never cached, like
// the other platform accounts) is the negative of all the income credited: what the
// fund company owes the platform until its income is settled. An entry that makes it
// positive is an error (the ledger check reports it).
const KindFundIncome AccountKind = "fund_income"

// FundIncomeSpec is the fund income clearing account of a currency.
func FundIncomeSpec(c models.Currency) AccountSpec {
	return AccountSpec{Kind: KindFundIncome, Currency: c}
}

// YieldKey is the idempotency key of a wallet's yield credit of a day:
// yield/<account>/<YYYY-MM-DD>. One journal per wallet and day, so that a rerun of the
// day, or a retried page, credits nothing twice.
func YieldKey(accountID, day string) string {
	return fmt.Sprintf("%s/%s/%s", models.FlowYield, accountID, day)
}

// YieldPosting is a wallet's yield credit of a day: amount minor units from the fund
// income account to the wallet.
func YieldPosting(incomeAccount, walletID, merchantID, day, runID string, amount int64) Posting {
	return Posting{
		Key:         YieldKey(walletID, day),
		Flow:        models.FlowYield,
		FlowID:      runID,
		MerchantID:  merchantID,
		Description: "balance yield " + day,
		Currency:    models.YieldCurrency,
		Legs:        []Leg{{AccountID: incomeAccount, Amount: -amount}, {AccountID: walletID, Amount: amount}},
	}
}
