package activities

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Withdrawals holds the activities that record withdrawals.
type Withdrawals struct {
	Store    *store.Store
	Ledger   *ledger.Ledger
	Log      *logrus.Entry
	Outcomes Outcomes
}

// SetWithdrawalStatus records a withdrawal's status while it runs (pending_approval,
// then processing once approved). When the input names the merchant, a disabled
// merchant's status is not recorded: the business error merchant_disabled, on which
// the flow releases the hold and ends failed (its money has not left).
func (w *Withdrawals) SetWithdrawalStatus(ctx context.Context, in models.SetWithdrawalStatusInput) error {
	if in.MerchantID != "" {
		log := logger(ctx, w.Log).WithFields(logrus.Fields{"withdrawal_id": in.WithdrawalID, "merchant_id": in.MerchantID})
		if _, err := activeMerchant(ctx, w.Store, log, in.MerchantID, "go on with the withdrawal"); err != nil {
			return err
		}
	}
	err := w.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		return tx.SetWithdrawalStatus(in.WithdrawalID, in.Status, models.FailureNone, "")
	})
	if err != nil {
		return retryableError(models.ErrTypeDatabase, err)
	}
	return nil
}

// FinalizeWithdrawal ends a withdrawal in one transaction: a success settles the hold
// with the journal that moves the money from the wallet to the channel's clearing
// account (the balance goes down); anything else releases the hold (available goes
// back up). The status is recorded with it.
func (w *Withdrawals) FinalizeWithdrawal(ctx context.Context, in models.FinalizeWithdrawalInput) (models.WithdrawalResult, error) {
	log := logger(ctx, w.Log).WithFields(logrus.Fields{"withdrawal_id": in.WithdrawalID, "merchant_id": in.MerchantID})
	journal, err := w.Ledger.FinishWithdrawal(ctx, in)
	if err != nil {
		return models.WithdrawalResult{}, ledgerError(log, err, "withdrawal "+in.WithdrawalID)
	}
	log.WithFields(logrus.Fields{"status": in.Status, "failure_code": in.FailureCode, "journal_id": journal.ID}).Info("withdrawal finished")
	if !journal.Existing {
		finished(w.Outcomes, models.FlowWithdrawal, in.WithdrawalID, string(in.Status), in.Channel)
	}
	return models.WithdrawalResult{Status: in.Status, FailureCode: in.FailureCode, JournalID: journal.ID}, nil
}
