package activities

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
)

// Holds holds the activities that reserve money before it leaves (withdrawals from a
// wallet, refunds from a merchant's settlement account).
type Holds struct {
	Ledger *ledger.Ledger
	Log    *logrus.Entry
}

// PlaceHold reserves money under the flow's key (a second run finds the first hold).
// Not enough available money is an answer (failure code insufficient_funds, nothing
// held), not an error.
func (h *Holds) PlaceHold(ctx context.Context, in models.PlaceHoldInput) (models.PlaceHoldResult, error) {
	account := in.AccountID
	if account == "" {
		var err error
		if account, err = h.Ledger.EnsureAccount(ctx, ledger.SettlementSpec(in.MerchantID, in.Currency)); err != nil {
			return models.PlaceHoldResult{}, ledgerError(logger(ctx, h.Log), err, "the hold's account")
		}
	}
	var hold ledger.Hold
	err := h.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		var err error
		hold, err = tx.PlaceHold(ledger.HoldRequest{Key: in.Key, AccountID: account, Amount: in.Amount, Currency: in.Currency, Flow: in.Flow, FlowID: in.FlowID})
		return err
	})
	switch {
	case err == nil:
		logger(ctx, h.Log).WithFields(logrus.Fields{"hold_id": hold.ID, "account_id": account, "replayed": hold.Existing}).Info("hold placed")
		return models.PlaceHoldResult{HoldID: hold.ID}, nil
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return models.PlaceHoldResult{FailureCode: models.FailureInsufficientFunds}, nil
	case errors.Is(err, ledger.ErrRejected):
		return models.PlaceHoldResult{}, businessError(models.FailureLedgerRejected, err.Error())
	default:
		return models.PlaceHoldResult{}, retryableError(models.ErrTypeDatabase, err)
	}
}
