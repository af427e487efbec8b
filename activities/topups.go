package activities

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Topups holds the activities that record top-ups.
type Topups struct {
	Store    *store.Store
	Ledger   *ledger.Ledger
	Log      *logrus.Entry
	Outcomes Outcomes
}

// FinalizeTopup records the end of a top-up. On success it posts the journal that
// moves the charged money from the channel's clearing account into the wallet, under
// the flow's posting key, and sets the status, in one transaction. A disabled
// merchant's credit is refused (merchant_disabled): the flow reverses the charge and
// records the top-up failed.
func (t *Topups) FinalizeTopup(ctx context.Context, in models.FinalizeTopupInput) (models.TopupResult, error) {
	log := logger(ctx, t.Log).WithFields(logrus.Fields{"topup_id": in.TopupID, "merchant_id": in.MerchantID})
	// The key first: a run after a committed credit answers it (see FinalizePayment).
	if j, ok, err := t.Ledger.Posted(ctx, in.PostingKey); err != nil {
		return models.TopupResult{}, retryableError(models.ErrTypeDatabase, err)
	} else if ok {
		log.WithField("journal_id", j.ID).Info("top-up was posted by an earlier run")
		return models.TopupResult{Status: models.TopupSucceeded, Channel: in.Channel, JournalID: j.ID}, nil
	}
	if in.Status == models.TopupSucceeded {
		if _, err := activeMerchant(ctx, t.Store, log, in.MerchantID, "credit the top-up"); err != nil {
			return models.TopupResult{}, err
		}
	}
	j, err := t.Ledger.FinishTopup(ctx, in)
	if err != nil {
		return models.TopupResult{}, ledgerError(log, err, "posting "+in.PostingKey)
	}
	if in.Status != models.TopupSucceeded {
		finished(t.Outcomes, models.FlowTopup, in.TopupID, string(in.Status), in.Channel)
		return models.TopupResult{Status: in.Status, FailureCode: in.FailureCode, Channel: in.Channel}, nil
	}
	log.WithFields(logrus.Fields{"journal_id": j.ID, "replayed": j.Existing}).Info("top-up posted")
	if !j.Existing {
		finished(t.Outcomes, models.FlowTopup, in.TopupID, string(models.TopupSucceeded), in.Channel)
	}
	return models.TopupResult{Status: models.TopupSucceeded, Channel: in.Channel, JournalID: j.ID}, nil
}
