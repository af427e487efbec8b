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
// next. An attempt after the first may have been preceded by one that reached the
// bank without an answer (the worker may even have died mid-call, before writing
// anything): it asks the bank before sending, unless the details prove that every
// earlier attempt was refused before acting (RefusedThrough). Details written by
// older workers have no RefusedThrough, which counts as "may have acted".
type chargeProgress struct {
	MayHaveActed bool   `json:"may_have_acted"`
	Channel      string `json:"channel"`
	// RefusedThrough is the last attempt up to which every attempt was refused by
	// the bank before acting (0: none proved so).
	RefusedThrough int32 `json:"refused_through,omitempty"`
}

// mayHaveActed reports whether an earlier attempt of this activity may have reached
// the bank: the attempt number is the server's (durable), the proof of refusals is
// ours (a heartbeat that may be lost, which errs on the safe side).
func (p chargeProgress) mayHaveActed(attempt int32) bool {
	return p.MayHaveActed || attempt > 1 && p.RefusedThrough < attempt-1
}

// Charge charges a card at the bank with the payment (or top-up) id as the bank's
// idempotency key. See transfer for the rules every bank call follows. A charge the
// flow sends for the first time (FirstSend) is not sent for a disabled merchant when
// no attempt of this activity can have reached the bank either: the business error
// merchant_disabled, with nothing at the bank to give back. Once a request of the
// reference may be at a bank, the charge goes on as for any merchant (queried, sent
// again): the flow's posting then refuses the merchant and reverses what the bank
// took.
func (b *Bank) Charge(ctx context.Context, in models.ChargeInput) (models.ChargeResult, error) {
	return b.transfer(ctx, in.Channel, in.Reference, in.MerchantID, models.FailureCardDeclined, in.FirstSend,
		func(ch bank.Channel) (bank.Transfer, error) {
			return ch.Charge(ctx, bank.ChargeRequest{Reference: in.Reference, MerchantID: in.MerchantID, Amount: in.Amount, Currency: in.Currency, Token: in.Token})
		})
}

// Payout pays a withdrawal out to a bank account, with the withdrawal id as the
// bank's idempotency key.
func (b *Bank) Payout(ctx context.Context, in models.PayoutInput) (models.ChargeResult, error) {
	return b.transfer(ctx, in.Channel, in.Reference, in.MerchantID, models.FailureAccountClosed, false,
		func(ch bank.Channel) (bank.Transfer, error) {
			return ch.Payout(ctx, bank.PayoutRequest{Reference: in.Reference, MerchantID: in.MerchantID, Amount: in.Amount, Currency: in.Currency, BankAccount: in.BankAccount})
		})
}

// RefundAtBank refunds part of a charge at the channel that took it, with the refund
// id as the bank's idempotency key.
func (b *Bank) RefundAtBank(ctx context.Context, in models.RefundAtBankInput) (models.ChargeResult, error) {
	return b.transfer(ctx, in.Channel, in.Reference, in.MerchantID, models.FailureBankUnavailable, false,
		func(ch bank.Channel) (bank.Transfer, error) {
			return ch.Refund(ctx, bank.RefundRequest{Reference: in.Reference, ChargeReference: in.ChargeReference, Amount: in.Amount, Currency: in.Currency})
		})
}

// transfer runs one bank call under the rules of the channel contract. An attempt
// that an earlier one may have preceded at the bank (see chargeProgress) first
// queries the bank: a transfer it knows is the answer, and "not found" lets the
// request be sent again to the same bank with the same reference (which the bank
// deduplicates). A business failure is a non-retryable error typed with its failure
// code (defaultCode when the bank gives none). bank_unavailable means that no attempt
// of this activity can have acted (each was refused before acting), the only answer
// that lets a flow try another channel; once an attempt may have acted, every later
// failure is unknown_outcome, whatever the bank says, because a request of ours may
// still be on its way. firstSend (see models.ChargeInput) lets an attempt that nothing
// can have preceded at a bank refuse a disabled merchant before sending.
func (b *Bank) transfer(ctx context.Context, channel, reference, merchantID string, defaultCode models.FailureCode,
	firstSend bool, send func(bank.Channel) (bank.Transfer, error)) (models.ChargeResult, error) {
	log := logger(ctx, b.Log).WithFields(logrus.Fields{"reference": reference, "merchant_id": merchantID, "channel": channel})
	ch, err := b.Channels.Get(channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, err.Error())
	}
	var prev chargeProgress
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &prev)
	}
	attempt := int32(1)
	if activity.IsActivity(ctx) {
		attempt = activity.GetInfo(ctx).Attempt
	}
	acted := prev.mayHaveActed(attempt)
	if firstSend && !acted {
		// No request of this reference can be at a bank: the durable attempt number
		// and the proven refusals say so for this activity, the flow for the ones
		// before it.
		if _, err := activeMerchant(ctx, b.Store, log, merchantID, "send the charge to the bank"); err != nil {
			// Nothing was sent: the next attempt may still check before sending.
			activity.RecordHeartbeat(ctx, chargeProgress{Channel: channel, RefusedThrough: attempt})
			return models.ChargeResult{}, err
		}
	}
	if acted {
		t, err := ch.Query(ctx, reference)
		switch {
		case err == nil:
			log.WithField("status", t.Status).Info("earlier attempt found at the bank")
			return b.result(ctx, merchantID, reference, defaultCode, t)
		case errors.Is(err, bank.ErrNotFound):
			if _, routes := ch.(Router); routes {
				// Through a router the resend could reach another bank than the one
				// whose request may still be on its way: that is the flow's decision
				// (it pins the channel), never this activity's.
				return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, fmt.Errorf("no routed channel has %s yet: %w", reference, err))
			}
			log.Info("bank has not seen the reference; sending again with the same reference")
		default:
			return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, fmt.Errorf("query before retry: %w", err))
		}
	}
	t, err := send(ch)
	switch {
	case err == nil:
		return b.result(ctx, merchantID, reference, defaultCode, t)
	case errors.Is(err, bank.ErrUnavailable) && !acted:
		log.WithError(err).Warn("bank refused before acting")
		activity.RecordHeartbeat(ctx, chargeProgress{Channel: channel, RefusedThrough: attempt})
		return models.ChargeResult{}, retryableError(models.ErrTypeBankUnavailable, err)
	case errors.Is(err, bank.ErrInvalid):
		return models.ChargeResult{}, businessError(defaultCode, err.Error())
	default:
		// Unknown, or refused now while an earlier request may still be on its way.
		log.WithError(err).Warn("bank outcome unknown")
		activity.RecordHeartbeat(ctx, chargeProgress{MayHaveActed: true, Channel: channel})
		return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
}

// result records a decided transfer and turns it into the activity's answer.
func (b *Bank) result(ctx context.Context, merchantID, reference string, defaultCode models.FailureCode, t bank.Transfer) (models.ChargeResult, error) {
	res := chargeResult(t)
	if err := b.record(ctx, merchantID, t); err != nil {
		return models.ChargeResult{}, err
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
		return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
	if err := b.record(ctx, "", t); err != nil {
		return models.ChargeResult{}, err
	}
	return chargeResult(t), nil
}

// CancelTransfer asks the channel to stop the transfer with our reference for good:
// at a flow's deadline, or on an operator's cancel. It answers the bank's canceled
// (the reference will never execute there) or the transfer's final state; a bank that
// cannot stop it is the non-retryable error not_cancelable (it may still execute).
func (b *Bank) CancelTransfer(ctx context.Context, in models.QueryTransferInput) (models.ChargeResult, error) {
	log := logger(ctx, b.Log).WithFields(logrus.Fields{"reference": in.Reference, "channel": in.Channel})
	ch, err := b.Channels.Get(in.Channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.ErrTypeNotCancelable, err.Error())
	}
	t, err := ch.Cancel(ctx, in.Reference)
	switch {
	case errors.Is(err, bank.ErrNotCancelable):
		log.Info("bank cannot cancel the transfer")
		return models.ChargeResult{}, businessError(models.ErrTypeNotCancelable, err.Error())
	case err != nil:
		return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
	log.WithField("status", t.Status).Info("bank answered the cancel")
	if err := b.record(ctx, "", t); err != nil {
		return models.ChargeResult{}, err
	}
	return chargeResult(t), nil
}

// OpenTrade opens a QR payment's trade at the wallet provider its customer's app
// came from (the payment id as the provider's idempotency key) and answers it
// processing, with the provider's checkout page. Opening it again answers the same
// trade.
func (b *Bank) OpenTrade(ctx context.Context, in models.OpenTradeInput) (models.ChargeResult, error) {
	log := logger(ctx, b.Log).WithFields(logrus.Fields{"reference": in.Reference, "channel": in.Channel})
	ch, err := b.Channels.Get(in.Channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, err.Error())
	}
	tc, ok := ch.(bank.TradeChannel)
	if !ok {
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, in.Channel+" opens no trades")
	}
	url, err := tc.CreateTrade(ctx, bank.TradeRequest{Reference: in.Reference, MerchantID: in.MerchantID, Amount: in.Amount, Currency: in.Currency})
	switch {
	case errors.Is(err, bank.ErrInvalid):
		return models.ChargeResult{}, businessError(models.FailureBankUnavailable, err.Error())
	case err != nil:
		return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
	log.Info("trade opened at the wallet provider")
	return models.ChargeResult{Status: models.BankProcessing, Channel: in.Channel, CheckoutURL: url, Amount: in.Amount, Currency: in.Currency}, nil
}

// CloseTrade ends a QR payment's trade that was not paid in time (at its expiry, or
// on an operator's cancel): canceled, or the trade's final state when the customer
// paid before the close ("already paid": succeeded).
func (b *Bank) CloseTrade(ctx context.Context, in models.QueryTransferInput) (models.ChargeResult, error) {
	log := logger(ctx, b.Log).WithFields(logrus.Fields{"reference": in.Reference, "channel": in.Channel})
	ch, err := b.Channels.Get(in.Channel)
	if err != nil {
		return models.ChargeResult{}, businessError(models.ErrTypeNotCancelable, err.Error())
	}
	tc, ok := ch.(bank.TradeChannel)
	if !ok {
		return models.ChargeResult{}, businessError(models.ErrTypeNotCancelable, in.Channel+" closes no trades")
	}
	t, err := tc.CloseTrade(ctx, in.Reference)
	if err != nil {
		return models.ChargeResult{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
	log.WithField("status", t.Status).Info("wallet provider answered the close")
	if err := b.record(ctx, "", t); err != nil {
		return models.ChargeResult{}, err
	}
	return chargeResult(t), nil
}

// Router is a channel that routes (package auto): the channels a transfer may go
// to, in order.
type Router interface {
	Route(merchant string, amount int64, currency models.Currency) ([]string, error)
}

// RouteTransfer resolves a routing channel (auto) into the real channels a transfer
// may go to, in order; the flow then sends to one at a time and moves on only when a
// channel proved it will not execute the reference. A channel that does not route
// answers itself. No route is the non-retryable error no_route.
func (b *Bank) RouteTransfer(ctx context.Context, channel string, in models.RouteInput) (models.RouteResult, error) {
	ch, err := b.Channels.Get(channel)
	if err != nil {
		return models.RouteResult{}, businessError(models.ErrTypeNoRoute, err.Error())
	}
	r, ok := ch.(Router)
	if !ok {
		return models.RouteResult{Channels: []string{channel}}, nil
	}
	names, err := r.Route(in.MerchantID, in.Amount, in.Currency)
	if err != nil {
		return models.RouteResult{}, businessError(models.ErrTypeNoRoute, err.Error())
	}
	return models.RouteResult{Channels: names}, nil
}

// chargeResult is the activities' view of a bank transfer.
func chargeResult(t bank.Transfer) models.ChargeResult {
	return models.ChargeResult{Status: t.Status, FailureCode: t.FailureCode, Channel: t.Channel, BankID: t.BankID,
		Amount: t.Amount, Currency: t.Currency}
}

// recorded reports whether a transfer's state is recorded in bank_transfers: a
// movement the bank decided (succeeded or failed). A canceled reference moved
// nothing and has no line in any statement.
func recorded(s models.BankStatus) bool { return s == models.BankSucceeded || s == models.BankFailed }

// record keeps a transfer the bank decided in bank_transfers (see recorded); it
// records no other.
func (b *Bank) record(ctx context.Context, merchantID string, t bank.Transfer) error {
	if !recorded(t.Status) {
		return nil
	}
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
		return retryableError(models.ErrTypeDatabase, err)
	}
	return nil
}
