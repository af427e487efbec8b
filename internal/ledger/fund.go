package ledger

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

// The fund marketplace's accounts. A wallet's shares of a product are an account of
// their own asset code (models.ShareAsset: SHR.prd_bond, in hundredths of a share),
// tracked like a wallet (never below zero, held by a redemption); the fund company's
// share clearing account of the product is its counterpart. The money of the orders
// goes to and comes from the fund company's cash clearing account of the currency.
// Each order posts its money and its shares in one journal per currency or asset.
const (
	// KindFundPosition is a wallet's shares of one product (Owner: the wallet).
	KindFundPosition AccountKind = "fund_position"
	// KindFundShares is the fund company's share clearing account of a product:
	// the negative of the shares payflow's wallets hold.
	KindFundShares AccountKind = "fund_shares"
	// KindFundCash is the fund company's cash clearing account of a currency: what
	// subscriptions paid to it less what redemptions brought back.
	KindFundCash AccountKind = "fund_cash"
)

// PositionSpec is a wallet's position account in a product.
func PositionSpec(walletID, productID string) AccountSpec {
	return AccountSpec{Kind: KindFundPosition, Owner: walletID, Currency: models.ShareAsset(productID)}
}

// FundSharesSpec is the fund company's share clearing account of a product.
func FundSharesSpec(productID string) AccountSpec {
	return AccountSpec{Kind: KindFundShares, Currency: models.ShareAsset(productID)}
}

// FundCashSpec is the fund company's cash clearing account in currency c.
func FundCashSpec(c models.Currency) AccountSpec {
	return AccountSpec{Kind: KindFundCash, Currency: c}
}

// Positions lists a wallet's position accounts, by product asset code.
func (l *Ledger) Positions(ctx context.Context, walletID string) ([]Account, error) {
	var rows []accountRow
	err := l.db.WithContext(ctx).Where("kind = ? AND reference = ?", string(KindFundPosition), walletID).
		Order("currency").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("positions of %s: %w", walletID, err)
	}
	out := make([]Account, len(rows))
	for i, r := range rows {
		out[i] = r.model()
	}
	return out, nil
}

// Position returns a wallet's position account in a product, and whether it has
// one.
func (l *Ledger) Position(ctx context.Context, walletID, productID string) (Account, bool, error) {
	a, err := l.AccountBySpec(ctx, PositionSpec(walletID, productID))
	switch {
	case err == nil:
		return a, true, nil
	case errors.Is(err, ErrAccountNotFound):
		return Account{}, false, nil
	}
	return Account{}, false, err
}

// AvailableIn answers the available balance (balance less holds) of the singleton
// account spec names as the transaction tx sees it, and whether the account exists:
// a creating request checks it inside its own idempotency transaction, so that a
// replay of the request never meets the check.
func AvailableIn(tx *gorm.DB, spec AccountSpec) (int64, bool, error) {
	var row accountRow
	err := tx.Select("balance", "held").Where("system_key = ?", spec.SystemKey()).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return 0, false, nil
	case err != nil:
		return 0, false, fmt.Errorf("account %s: %w", spec.SystemKey(), err)
	}
	return row.Balance - row.Held, true, nil
}

// WalletAvailableIn is AvailableIn of a wallet, by its id.
func WalletAvailableIn(tx *gorm.DB, walletID string) (int64, error) {
	var row accountRow
	if err := tx.Select("balance", "held").Where("id = ?", walletID).Take(&row).Error; err != nil {
		return 0, fmt.Errorf("wallet %s: %w", walletID, err)
	}
	return row.Balance - row.Held, nil
}
