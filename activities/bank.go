package activities

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Bank holds the activities that talk to bank channels. It owns the bank transfer
// records: every decided transfer is recorded once, for reconciliation.
type Bank struct {
	Channels *bank.Registry
	Store    *store.Store
	Log      *logrus.Entry
}

// chargeProgress rides in the activity's heartbeat details from one attempt to the
// next: once an attempt may have reached the bank without an answer, every later
// attempt must ask the bank before charging.
type chargeProgress struct {
	MayHaveActed bool   `json:"may_have_acted"`
	Channel      string `json:"channel"`
}

// Charge charges a card at the bank with the payment id as the bank's idempotency
// key. A retry after an attempt whose outcome is unknown first queries the bank: a
// transfer it knows is the answer, and only "never seen" lets the charge be sent
// again, with the same reference. Declines are non-retryable errors typed with the
// failure code; an outage before acting is bank_unavailable; anything that may have
// reached the bank is unknown_outcome.
func (b *Bank) Charge(ctx context.Context, in models.ChargeInput) (models.ChargeResult, error) {
	log := logger(ctx, b.Log).WithFields(logrus.Fields{"payment_id": in.Reference, "merchant_id": in.MerchantID, "channel": in.Channel})
	ch, err := b.Channels.Get(in.Channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, err.Error())
	}
	var prev chargeProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	if prev.MayHaveActed {
		t, err := ch.Query(ctx, in.Reference)
		switch {
		case err == nil:
			log.WithField("status", t.Status).Info("earlier charge attempt found at the bank")
			return b.chargeResult(ctx, in, t)
		case errors.Is(err, bank.ErrNotFound):
			log.Info("bank never saw the earlier attempt; charging again with the same reference")
		default:
			return models.ChargeResult{}, retryableError(ErrTypeUnknownOutcome, fmt.Errorf("query before retry: %w", err))
		}
	}
	t, err := ch.Charge(ctx, bank.ChargeRequest{Reference: in.Reference, MerchantID: in.MerchantID, Amount: in.Amount, Currency: in.Currency, Token: in.Token})
	switch {
	case err == nil:
		return b.chargeResult(ctx, in, t)
	case errors.Is(err, bank.ErrUnavailable):
		log.WithError(err).Warn("bank refused the charge before acting")
		if prev.MayHaveActed {
			// This attempt proved nothing executed (query: never seen; charge:
			// refused before acting), so the outcome is no longer unknown.
			activity.RecordHeartbeat(ctx, chargeProgress{MayHaveActed: false, Channel: in.Channel})
		}
		return models.ChargeResult{}, retryableError(ErrTypeBankUnavailable, err)
	case errors.Is(err, bank.ErrInvalid):
		return models.ChargeResult{}, businessError(models.FailureCardDeclined, err.Error())
	default:
		log.WithError(err).Warn("charge outcome unknown")
		activity.RecordHeartbeat(ctx, chargeProgress{MayHaveActed: true, Channel: in.Channel})
		return models.ChargeResult{}, retryableError(ErrTypeUnknownOutcome, err)
	}
}

// chargeResult records a decided transfer and turns it into the activity's answer.
func (b *Bank) chargeResult(ctx context.Context, in models.ChargeInput, t bank.Transfer) (models.ChargeResult, error) {
	res := models.ChargeResult{Status: t.Status, FailureCode: t.FailureCode, Channel: t.Channel, BankID: t.BankID}
	if t.Status.Final() {
		if err := b.record(ctx, in.MerchantID, t); err != nil {
			return models.ChargeResult{}, err
		}
	}
	if t.Status == models.BankFailed {
		code := t.FailureCode
		if code == models.FailureNone {
			code = models.FailureCardDeclined
		}
		return models.ChargeResult{}, businessError(code, fmt.Sprintf("charge %s failed at the bank: %s", in.Reference, code), res)
	}
	return res, nil
}

// QueryTransfer asks the channel for the state of the transfer with our reference.
// A reference the bank never saw answers status not_found (not an error), so that the
// workflow can decide to charge again.
func (b *Bank) QueryTransfer(ctx context.Context, in models.QueryTransferInput) (models.ChargeResult, error) {
	ch, err := b.Channels.Get(in.Channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, err.Error())
	}
	t, err := ch.Query(ctx, in.Reference)
	switch {
	case errors.Is(err, bank.ErrNotFound):
		return models.ChargeResult{Status: models.BankNotFound, Channel: in.Channel}, nil
	case err != nil:
		return models.ChargeResult{}, retryableError(ErrTypeUnknownOutcome, err)
	}
	if t.Status.Final() {
		if err := b.record(ctx, "", t); err != nil {
			return models.ChargeResult{}, err
		}
	}
	return models.ChargeResult{Status: t.Status, FailureCode: t.FailureCode, Channel: t.Channel, BankID: t.BankID}, nil
}

func (b *Bank) record(ctx context.Context, merchantID string, t bank.Transfer) error {
	if merchantID == "" {
		// A query does not carry the merchant; the transfer's object does.
		if p, err := b.Store.PaymentByID(ctx, t.Reference); err == nil {
			merchantID = p.MerchantID
		}
	}
	err := b.Store.RecordBankTransfer(ctx, store.BankTransfer{
		Reference: t.Reference, Channel: t.Channel, Kind: string(t.Kind), MerchantID: merchantID,
		Amount: t.Amount, Currency: t.Currency, Status: t.Status, FailureCode: t.FailureCode, BankID: t.BankID,
	})
	if err != nil {
		return retryableError(errTypeDatabase, err)
	}
	return nil
}
