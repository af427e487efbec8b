package activities

import (
	"context"

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
		return models.RefundResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	journal, err := r.Ledger.FinishRefund(ctx, in, refund)
	if err != nil {
		return models.RefundResult{}, ledgerError(log, err, "refund "+in.RefundID)
	}
	log.WithFields(logrus.Fields{"status": in.Status, "journal_id": journal.ID}).Info("refund finished")
	if !journal.Existing {
		finished(r.Outcomes, models.FlowRefund, in.RefundID, string(in.Status), in.Channel)
	}
	return models.RefundResult{Status: in.Status, FailureCode: in.FailureCode, JournalID: journal.ID}, nil
}
