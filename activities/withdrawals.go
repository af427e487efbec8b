package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Withdrawals holds the activities that record withdrawals.
type Withdrawals struct {
	Ledger   *ledger.Ledger
	Log      *logrus.Entry
	Outcomes Outcomes
}

// SetWithdrawalStatus records a withdrawal's status while it runs (pending_approval).
func (w *Withdrawals) SetWithdrawalStatus(ctx context.Context, in models.SetWithdrawalStatusInput) error {
	err := w.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		return store.SetWithdrawalStatus(tx.DB(), in.WithdrawalID, in.Status, models.FailureNone, "")
	})
	if err != nil {
		return retryableError(errTypeDatabase, err)
	}
	return nil
}

// FinalizeWithdrawal ends a withdrawal in one transaction: a success settles the hold
// with the journal that moves the money from the wallet to the channel's clearing
// account (the balance goes down); anything else releases the hold (available goes
// back up). The status is recorded with it.
func (w *Withdrawals) FinalizeWithdrawal(ctx context.Context, in models.FinalizeWithdrawalInput) (models.WithdrawalResult, error) {
	log := logger(ctx, w.Log).WithFields(logrus.Fields{"withdrawal_id": in.WithdrawalID, "merchant_id": in.MerchantID})
	var clearing string
	if in.Status == models.WithdrawalSucceeded {
		var err error
		if clearing, err = ensureAccount(ctx, w.Ledger, ledger.ClearingSpec(in.Channel, in.Currency)); err != nil {
			return models.WithdrawalResult{}, err
		}
	}
	var journal ledger.Journal
	err := w.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		switch {
		case in.Status == models.WithdrawalSucceeded:
			j, err := tx.SettleHold(in.HoldID, ledger.Posting{
				Key: in.PostingKey, Flow: models.FlowWithdrawal, FlowID: in.WithdrawalID, MerchantID: in.MerchantID,
				Description: "withdrawal payout", Currency: in.Currency,
				Legs: []ledger.Leg{{AccountID: in.AccountID, Amount: -in.Amount}, {AccountID: clearing, Amount: in.Amount}},
			})
			if err != nil {
				return err
			}
			journal = j
		case in.HoldID != "":
			if _, err := tx.ReleaseHold(in.HoldID); err != nil {
				return err
			}
		}
		return store.SetWithdrawalStatus(tx.DB(), in.WithdrawalID, in.Status, in.FailureCode, in.Reason)
	})
	switch {
	case err == nil:
		log.WithFields(logrus.Fields{"status": in.Status, "failure_code": in.FailureCode, "journal_id": journal.ID}).Info("withdrawal finished")
		if !journal.Existing {
			finished(w.Outcomes, models.FlowWithdrawal, in.WithdrawalID, string(in.Status), in.Channel)
		}
		return models.WithdrawalResult{Status: in.Status, FailureCode: in.FailureCode, JournalID: journal.ID}, nil
	case errors.Is(err, ledger.ErrRejected):
		log.WithError(err).Error("ledger refused the withdrawal's settlement")
		return models.WithdrawalResult{}, businessError(models.FailureCode(ErrTypeLedgerRejected), fmt.Sprintf("withdrawal %s: %v", in.WithdrawalID, err))
	default:
		return models.WithdrawalResult{}, retryableError(errTypeDatabase, err)
	}
}
