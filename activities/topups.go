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

// Topups holds the activities that record top-ups.
type Topups struct {
	Ledger   *ledger.Ledger
	Log      *logrus.Entry
	Outcomes Outcomes
}

// FinalizeTopup records the end of a top-up. On success it posts the journal that
// moves the charged money from the channel's clearing account into the wallet, under
// the flow's posting key, and sets the status, in one transaction.
func (t *Topups) FinalizeTopup(ctx context.Context, in models.FinalizeTopupInput) (models.TopupResult, error) {
	log := logger(ctx, t.Log).WithFields(logrus.Fields{"topup_id": in.TopupID, "merchant_id": in.MerchantID})
	// The key first: a run after a committed credit answers it (see FinalizePayment).
	if j, ok, err := t.Ledger.Posted(ctx, in.PostingKey); err != nil {
		return models.TopupResult{}, retryableError(errTypeDatabase, err)
	} else if ok {
		log.WithField("journal_id", j.ID).Info("top-up was posted by an earlier run")
		return models.TopupResult{Status: models.TopupSucceeded, Channel: in.Channel, JournalID: j.ID}, nil
	}
	if in.Status != models.TopupSucceeded {
		err := t.Ledger.Run(ctx, func(tx *ledger.Tx) error {
			return store.SetTopupOutcome(tx.DB(), in.TopupID, in.Status, in.FailureCode, in.Channel)
		})
		if err != nil {
			return models.TopupResult{}, retryableError(errTypeDatabase, err)
		}
		finished(t.Outcomes, models.FlowTopup, in.TopupID, string(in.Status), in.Channel)
		return models.TopupResult{Status: in.Status, FailureCode: in.FailureCode, Channel: in.Channel}, nil
	}
	clearing, err := ensureAccount(ctx, t.Ledger, ledger.ClearingSpec(in.Channel, in.Currency))
	if err != nil {
		return models.TopupResult{}, err
	}
	var j ledger.Journal
	err = t.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		var err error
		j, err = tx.Post(ledger.Posting{
			Key: in.PostingKey, Flow: models.FlowTopup, FlowID: in.TopupID, MerchantID: in.MerchantID,
			Description: "top-up", Currency: in.Currency,
			Legs: []ledger.Leg{{AccountID: clearing, Amount: -in.Amount}, {AccountID: in.AccountID, Amount: in.Amount}},
		})
		if err != nil {
			return err
		}
		return store.SetTopupOutcome(tx.DB(), in.TopupID, models.TopupSucceeded, models.FailureNone, in.Channel)
	})
	switch {
	case err == nil:
		log.WithFields(logrus.Fields{"journal_id": j.ID, "replayed": j.Existing}).Info("top-up posted")
		if !j.Existing {
			finished(t.Outcomes, models.FlowTopup, in.TopupID, string(models.TopupSucceeded), in.Channel)
		}
		return models.TopupResult{Status: models.TopupSucceeded, Channel: in.Channel, JournalID: j.ID}, nil
	case errors.Is(err, ledger.ErrRejected):
		log.WithError(err).Error("ledger refused the top-up's posting")
		return models.TopupResult{}, businessError(models.FailureCode(ErrTypeLedgerRejected), fmt.Sprintf("posting %s: %v", in.PostingKey, err))
	default:
		return models.TopupResult{}, retryableError(errTypeDatabase, err)
	}
}
