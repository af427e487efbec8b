package activities

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Payments holds the activities that record payments in the ledger and the store.
type Payments struct {
	Store    *store.Store
	Ledger   *ledger.Ledger
	Log      *logrus.Entry
	Outcomes Outcomes
}

// FinalizePayment records the end of a payment. For a success it posts one balanced
// journal (the source, bank clearing or wallet, debited; the merchant's settlement
// account credited less the fee; the fee to the fees account) and sets the status, in
// one transaction, under the flow's posting key: a second run finds the first journal.
// A wallet without enough available money ends the payment failed
// insufficient_funds, with nothing moved.
func (p *Payments) FinalizePayment(ctx context.Context, in models.FinalizePaymentInput) (models.FinalizePaymentResult, error) {
	log := logger(ctx, p.Log).WithFields(logrus.Fields{"payment_id": in.PaymentID, "merchant_id": in.MerchantID})
	// The key first: a run after a committed first run (a crash, a lost
	// acknowledgement, a timeout) answers what the first did, whatever changed since
	// (a merchant disabled meanwhile must not turn a booked capture into a refusal
	// that the workflow would compensate). The rules below apply to the first run.
	if earlier, ok, err := p.posted(ctx, in); err != nil || ok {
		if ok {
			log.WithField("journal_id", earlier.JournalID).Info("payment was posted by an earlier run")
		}
		return earlier, err
	}
	if in.Status != models.PaymentSucceeded {
		if _, err := p.Ledger.FinishPayment(ctx, in, 0); err != nil {
			return models.FinalizePaymentResult{}, retryableError(models.ErrTypeDatabase, err)
		}
		finished(p.Outcomes, models.FlowPayment, in.PaymentID, string(in.Status), in.Channel)
		return models.FinalizePaymentResult{Status: in.Status}, nil
	}

	// Disabled mid-flight: its money must not be credited; the flow compensates.
	merchant, err := activeMerchant(ctx, p.Store, log, in.MerchantID, "post the payment")
	if err != nil {
		return models.FinalizePaymentResult{}, err
	}
	fee, err := models.FeeFor(in.Amount, merchant.FeeBps)
	if err != nil {
		return models.FinalizePaymentResult{}, businessError(models.FailureLedgerRejected, err.Error())
	}
	journal, err := p.Ledger.FinishPayment(ctx, in, fee)
	switch {
	case err == nil:
		log.WithFields(logrus.Fields{"journal_id": journal.ID, "replayed": journal.Existing}).Info("payment posted")
		if !journal.Existing {
			finished(p.Outcomes, models.FlowPayment, in.PaymentID, string(models.PaymentSucceeded), in.Channel)
		}
		return models.FinalizePaymentResult{JournalID: journal.ID, Fee: fee, Status: models.PaymentSucceeded}, nil
	case errors.Is(err, ledger.ErrInsufficientFunds) && in.Source.Wallet():
		// The wallet cannot pay: a business outcome, recorded as such.
		refused := models.FinalizePaymentInput{PaymentID: in.PaymentID, Status: models.PaymentFailed, FailureCode: models.FailureInsufficientFunds}
		if _, err := p.Ledger.FinishPayment(ctx, refused, 0); err != nil {
			return models.FinalizePaymentResult{}, retryableError(models.ErrTypeDatabase, err)
		}
		log.Info("wallet payment refused: insufficient funds")
		finished(p.Outcomes, models.FlowPayment, in.PaymentID, string(models.PaymentFailed), in.Channel)
		return models.FinalizePaymentResult{Status: models.PaymentFailed, FailureCode: models.FailureInsufficientFunds}, nil
	default:
		return models.FinalizePaymentResult{}, ledgerError(log, err, "posting "+in.PostingKey)
	}
}

// posted returns the result of an earlier run that posted the payment's capture.
func (p *Payments) posted(ctx context.Context, in models.FinalizePaymentInput) (models.FinalizePaymentResult, bool, error) {
	j, ok, err := p.Ledger.Posted(ctx, in.PostingKey)
	if err != nil {
		return models.FinalizePaymentResult{}, false, retryableError(models.ErrTypeDatabase, err)
	}
	if !ok {
		return models.FinalizePaymentResult{}, false, nil
	}
	pay, err := p.Store.Payment(ctx, in.MerchantID, in.PaymentID)
	if err != nil {
		return models.FinalizePaymentResult{}, false, retryableError(models.ErrTypeDatabase, err)
	}
	return models.FinalizePaymentResult{JournalID: j.ID, Fee: pay.Fee, Status: models.PaymentSucceeded}, true, nil
}
