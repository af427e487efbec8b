package activities

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Holds holds the activities that reserve money before it leaves (withdrawals from a
// wallet, refunds from a merchant's settlement account).
type Holds struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	Log    *logrus.Entry
}

// errMerchantDisabled stops PlaceHold's transaction before it holds anything.
var errMerchantDisabled = errors.New("merchant disabled")

// PlaceHold reserves money under the flow's key (a second run finds the first hold,
// whatever changed since). Not enough available money, or a disabled merchant, is an
// answer (failure code insufficient_funds, insufficient_withdrawable_funds or
// merchant_disabled, nothing held), not an
// error: the flow then ends failed before any money moved.
func (h *Holds) PlaceHold(ctx context.Context, in models.PlaceHoldInput) (models.PlaceHoldResult, error) {
	log := logger(ctx, h.Log)
	account := in.AccountID
	if account == "" {
		var err error
		if account, err = h.Ledger.EnsureAccount(ctx, ledger.SettlementSpec(in.MerchantID, in.Currency)); err != nil {
			return models.PlaceHoldResult{}, ledgerError(log, err, "the hold's account")
		}
	}
	merchant, err := loadMerchant(ctx, h.Store, in.MerchantID)
	if err != nil {
		return models.PlaceHoldResult{}, err
	}
	var hold ledger.Hold
	err = h.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		placed, ok, err := tx.HoldByKey(in.Key)
		if err != nil || ok {
			hold = placed
			return err
		}
		if merchant.Status != models.MerchantActive {
			return errMerchantDisabled
		}
		req := ledger.HoldRequest{Key: in.Key, AccountID: account, Amount: in.Amount, Currency: in.Currency, Flow: in.Flow, FlowID: in.FlowID}
		if in.Flow == models.FlowWithdrawal && merchant.WithdrawalDelaySeconds > 0 {
			// Money topped up within the merchant's delay stays in the wallet,
			// counted back from now, when the hold is placed (the flow's first step,
			// before any approval).
			req.RecentSince = time.Now().Add(-time.Duration(merchant.WithdrawalDelaySeconds) * time.Second)
		}
		hold, err = tx.PlaceHold(req)
		return err
	})
	switch {
	case err == nil:
		log.WithFields(logrus.Fields{"hold_id": hold.ID, "account_id": account, "replayed": hold.Existing}).Info("hold placed")
		return models.PlaceHoldResult{HoldID: hold.ID}, nil
	case errors.Is(err, errMerchantDisabled):
		log.WithField("merchant_id", in.MerchantID).Warn("merchant disabled: nothing held")
		return models.PlaceHoldResult{FailureCode: models.FailureMerchantDisabled}, nil
	case errors.Is(err, ledger.ErrInsufficientFunds):
		return models.PlaceHoldResult{FailureCode: models.FailureInsufficientFunds}, nil
	case errors.Is(err, ledger.ErrNotYetWithdrawable):
		log.WithField("account_id", account).Info("withdrawal refused: part of the available money was topped up within the withdrawal delay")
		return models.PlaceHoldResult{FailureCode: models.FailureInsufficientWithdrawable}, nil
	case errors.Is(err, ledger.ErrRejected):
		return models.PlaceHoldResult{}, businessError(models.FailureLedgerRejected, err.Error())
	default:
		return models.PlaceHoldResult{}, retryableError(models.ErrTypeDatabase, err)
	}
}
