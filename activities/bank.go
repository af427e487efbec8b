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

// Charge charges a card at the bank with the payment (or top-up) id as the bank's
// idempotency key. See transfer for the rules every bank call follows.
func (b *Bank) Charge(ctx context.Context, in models.ChargeInput) (models.ChargeResult, error) {
	return b.transfer(ctx, in.Channel, in.Reference, in.MerchantID, models.FailureCardDeclined,
		func(ch bank.Channel) (bank.Transfer, error) {
			return ch.Charge(ctx, bank.ChargeRequest{Reference: in.Reference, MerchantID: in.MerchantID, Amount: in.Amount, Currency: in.Currency, Token: in.Token})
		})
}

// Payout pays a withdrawal out to a bank account, with the withdrawal id as the
// bank's idempotency key.
func (b *Bank) Payout(ctx context.Context, in models.PayoutInput) (models.ChargeResult, error) {
	return b.transfer(ctx, in.Channel, in.Reference, in.MerchantID, models.FailureAccountClosed,
		func(ch bank.Channel) (bank.Transfer, error) {
			return ch.Payout(ctx, bank.PayoutRequest{Reference: in.Reference, MerchantID: in.MerchantID, Amount: in.Amount, Currency: in.Currency, BankAccount: in.BankAccount})
		})
}

// RefundAtBank refunds part of a charge at the channel that took it, with the refund
// id as the bank's idempotency key.
func (b *Bank) RefundAtBank(ctx context.Context, in models.RefundAtBankInput) (models.ChargeResult, error) {
	return b.transfer(ctx, in.Channel, in.Reference, in.MerchantID, models.FailureBankUnavailable,
		func(ch bank.Channel) (bank.Transfer, error) {
			return ch.Refund(ctx, bank.RefundRequest{Reference: in.Reference, ChargeReference: in.ChargeReference, Amount: in.Amount, Currency: in.Currency})
		})
}

// transfer runs one bank call under the rules of the channel contract. A retry after
// an attempt whose outcome is unknown first queries the bank: a transfer it knows is
// the answer, and only "never seen" lets the request be sent again, with the same
// reference. A business failure is a non-retryable error typed with its failure code
// (defaultCode when the bank gives none); an outage before acting is
// bank_unavailable; anything that may have reached the bank is unknown_outcome.
func (b *Bank) transfer(ctx context.Context, channel, reference, merchantID string, defaultCode models.FailureCode,
	send func(bank.Channel) (bank.Transfer, error)) (models.ChargeResult, error) {
	log := logger(ctx, b.Log).WithFields(logrus.Fields{"reference": reference, "merchant_id": merchantID, "channel": channel})
	ch, err := b.Channels.Get(channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, err.Error())
	}
	var prev chargeProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	if prev.MayHaveActed {
		t, err := ch.Query(ctx, reference)
		switch {
		case err == nil:
			log.WithField("status", t.Status).Info("earlier attempt found at the bank")
			return b.result(ctx, merchantID, reference, defaultCode, t)
		case errors.Is(err, bank.ErrNotFound):
			log.Info("bank never saw the earlier attempt; sending again with the same reference")
		default:
			return models.ChargeResult{}, retryableError(ErrTypeUnknownOutcome, fmt.Errorf("query before retry: %w", err))
		}
	}
	t, err := send(ch)
	switch {
	case err == nil:
		return b.result(ctx, merchantID, reference, defaultCode, t)
	case errors.Is(err, bank.ErrUnavailable):
		log.WithError(err).Warn("bank refused before acting")
		if prev.MayHaveActed {
			// This attempt proved nothing executed (query: never seen; request:
			// refused before acting), so the outcome is no longer unknown.
			activity.RecordHeartbeat(ctx, chargeProgress{MayHaveActed: false, Channel: channel})
		}
		return models.ChargeResult{}, retryableError(ErrTypeBankUnavailable, err)
	case errors.Is(err, bank.ErrInvalid):
		return models.ChargeResult{}, businessError(defaultCode, err.Error())
	default:
		log.WithError(err).Warn("bank outcome unknown")
		activity.RecordHeartbeat(ctx, chargeProgress{MayHaveActed: true, Channel: channel})
		return models.ChargeResult{}, retryableError(ErrTypeUnknownOutcome, err)
	}
}

// result records a decided transfer and turns it into the activity's answer.
func (b *Bank) result(ctx context.Context, merchantID, reference string, defaultCode models.FailureCode, t bank.Transfer) (models.ChargeResult, error) {
	res := models.ChargeResult{Status: t.Status, FailureCode: t.FailureCode, Channel: t.Channel, BankID: t.BankID}
	if t.Status.Final() {
		if err := b.record(ctx, merchantID, t); err != nil {
			return models.ChargeResult{}, err
		}
	}
	if t.Status == models.BankFailed {
		code := t.FailureCode
		if code == models.FailureNone {
			code = defaultCode
		}
		return models.ChargeResult{}, businessError(code, fmt.Sprintf("%s failed at the bank: %s", reference, code), res)
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
		if m, err := b.Store.MerchantForReference(ctx, t.Reference); err == nil {
			merchantID = m
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
