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

// Refunds holds the activities that record refunds.
type Refunds struct {
	Store    *store.Store
	Ledger   *ledger.Ledger
	Log      *logrus.Entry
	Outcomes Outcomes
}

// FinalizeRefund ends a refund in one transaction. A success settles the hold on the
// merchant's settlement account with the reversing journal (settlement debited; the
// bank clearing account credited for a card payment, the wallet credited for a wallet
// payment) and grows the payment's refunded amount; a failure releases the hold and
// gives the reservation back.
func (r *Refunds) FinalizeRefund(ctx context.Context, in models.FinalizeRefundInput) (models.RefundResult, error) {
	log := logger(ctx, r.Log).WithFields(logrus.Fields{"refund_id": in.RefundID, "payment_id": in.PaymentID, "merchant_id": in.MerchantID})
	refund, err := r.Store.Refund(ctx, in.MerchantID, in.RefundID)
	if err != nil {
		return models.RefundResult{}, retryableError(errTypeDatabase, err)
	}
	// Accounts are resolved before the transaction: creating one inside it would
	// wait on the transaction's own write lock on SQLite.
	var settlement, credit string
	if in.Status == models.RefundSucceeded {
		if settlement, err = ensureAccount(ctx, r.Ledger, ledger.SettlementSpec(in.MerchantID, in.Currency)); err != nil {
			return models.RefundResult{}, err
		}
		if in.Source.Type == models.SourceAccount {
			credit = in.Source.AccountID
		} else if credit, err = ensureAccount(ctx, r.Ledger, ledger.ClearingSpec(in.Channel, in.Currency)); err != nil {
			return models.RefundResult{}, err
		}
	}
	var journal ledger.Journal
	err = r.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		switch {
		case in.Status == models.RefundSucceeded:
			j, err := tx.SettleHold(in.HoldID, ledger.Posting{
				Key: in.PostingKey, Flow: models.FlowRefund, FlowID: in.RefundID, MerchantID: in.MerchantID,
				Description: "refund of " + in.PaymentID, Currency: in.Currency,
				Legs: []ledger.Leg{{AccountID: settlement, Amount: -in.Amount}, {AccountID: credit, Amount: in.Amount}},
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
		return store.SetRefundOutcome(tx.DB(), refund, in.Status, in.FailureCode)
	})
	switch {
	case err == nil:
		log.WithFields(logrus.Fields{"status": in.Status, "journal_id": journal.ID}).Info("refund finished")
		if !journal.Existing {
			finished(r.Outcomes, models.FlowRefund, in.RefundID, string(in.Status), in.Channel)
		}
		return models.RefundResult{Status: in.Status, FailureCode: in.FailureCode, JournalID: journal.ID}, nil
	case errors.Is(err, ledger.ErrRejected):
		log.WithError(err).Error("ledger refused the refund's posting")
		return models.RefundResult{}, businessError(models.FailureCode(ErrTypeLedgerRejected), fmt.Sprintf("refund %s: %v", in.RefundID, err))
	default:
		return models.RefundResult{}, retryableError(errTypeDatabase, err)
	}
}
