package ledger

import (
	"context"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// The steps that end payflow's flows: each books its flow's journal (from the
// templates below) and records the object's status in one transaction, or records
// the status alone when the flow failed. A step runs again after a crash finds the
// journal it posted (the posting key) and the status it set (status changes only
// move an object out of processing), so nothing happens twice.
//
// Platform accounts are resolved before the transaction: creating one inside it
// would wait on the transaction's own write lock on SQLite.

// FinishPayment ends a payment. A success posts its capture (see capturePosting) with
// fee and records it succeeded; anything else records the status and failure code.
// A wallet without enough available money fails with ErrInsufficientFunds and
// changes nothing.
func (l *Ledger) FinishPayment(ctx context.Context, in models.FinalizePaymentInput, fee int64) (Journal, error) {
	outcome := store.PaymentOutcome{Status: in.Status, FailureCode: in.FailureCode, Channel: in.Channel}
	if in.Status != models.PaymentSucceeded {
		return Journal{}, l.Run(ctx, func(tx *Tx) error { return tx.SetPaymentOutcome(in.PaymentID, outcome) })
	}
	settlement, source, err := l.paymentAccounts(ctx, in.MerchantID, in.Source, in.Channel, in.Currency)
	if err != nil {
		return Journal{}, err
	}
	var fees string
	if fee > 0 {
		if fees, err = l.EnsureAccount(ctx, FeesSpec(in.Currency)); err != nil {
			return Journal{}, err
		}
	}
	outcome.Fee, outcome.FailureCode = fee, models.FailureNone
	return l.postWith(ctx, capturePosting(in, fee, source, settlement, fees),
		func(tx *Tx) error { return tx.SetPaymentOutcome(in.PaymentID, outcome) })
}

// capturePosting is a payment's capture: the source (the wallet, or the channel's
// bank clearing account for a card) debited by the amount, the merchant's settlement
// account credited less the fee, the fee to the fees account. A 100% fee leaves no
// settlement leg, no fee no fee leg (a zero leg is refused).
func capturePosting(in models.FinalizePaymentInput, fee int64, source, settlement, fees string) Posting {
	legs := []Leg{{AccountID: source, Amount: -in.Amount}}
	if in.Amount != fee {
		legs = append(legs, Leg{AccountID: settlement, Amount: in.Amount - fee})
	}
	if fee > 0 {
		legs = append(legs, Leg{AccountID: fees, Amount: fee})
	}
	return Posting{
		Key: in.PostingKey, Flow: models.FlowPayment, FlowID: in.PaymentID, MerchantID: in.MerchantID,
		Description: "payment capture", Currency: in.Currency, Legs: legs,
	}
}

// FinishTopup ends a top-up. A success posts the credit (see topupPosting) and
// records it succeeded; anything else records the status and failure code.
func (l *Ledger) FinishTopup(ctx context.Context, in models.FinalizeTopupInput) (Journal, error) {
	if in.Status != models.TopupSucceeded {
		return Journal{}, l.Run(ctx, func(tx *Tx) error {
			return tx.SetTopupOutcome(in.TopupID, in.Status, in.FailureCode, in.Channel)
		})
	}
	clearing, err := l.EnsureAccount(ctx, ClearingSpec(in.Channel, in.Currency))
	if err != nil {
		return Journal{}, err
	}
	return l.postWith(ctx, topupPosting(in, clearing), func(tx *Tx) error {
		return tx.SetTopupOutcome(in.TopupID, models.TopupSucceeded, models.FailureNone, in.Channel)
	})
}

// topupPosting moves the charged money from the channel's bank clearing account
// into the wallet.
func topupPosting(in models.FinalizeTopupInput, clearing string) Posting {
	return Posting{
		Key: in.PostingKey, Flow: models.FlowTopup, FlowID: in.TopupID, MerchantID: in.MerchantID,
		Description: "top-up", Currency: in.Currency,
		Legs: []Leg{{AccountID: clearing, Amount: -in.Amount}, {AccountID: in.AccountID, Amount: in.Amount}},
	}
}

// FinishRefund ends a refund r. A success settles its hold on the merchant's
// settlement account with the reversal (see refundPosting); anything else releases
// the hold (when one was placed). The refund's status, and the payment's refunded
// amount, are recorded with it.
func (l *Ledger) FinishRefund(ctx context.Context, in models.FinalizeRefundInput, r models.Refund) (Journal, error) {
	var p Posting
	if in.Status == models.RefundSucceeded {
		settlement, credit, err := l.paymentAccounts(ctx, in.MerchantID, in.Source, in.Channel, in.Currency)
		if err != nil {
			return Journal{}, err
		}
		p = refundPosting(in, settlement, credit)
	}
	return l.closeHold(ctx, in.HoldID, in.Status == models.RefundSucceeded, p, func(tx *Tx) error {
		return tx.SetRefundOutcome(r, in.Status, in.FailureCode)
	})
}

// refundPosting reverses (part of) a payment: the merchant's settlement account
// debited, the bank clearing account credited for a card payment, the wallet for a
// wallet payment.
func refundPosting(in models.FinalizeRefundInput, settlement, credit string) Posting {
	return Posting{
		Key: in.PostingKey, Flow: models.FlowRefund, FlowID: in.RefundID, MerchantID: in.MerchantID,
		Description: "refund of " + in.PaymentID, Currency: in.Currency,
		Legs: []Leg{{AccountID: settlement, Amount: -in.Amount}, {AccountID: credit, Amount: in.Amount}},
	}
}

// FinishWithdrawal ends a withdrawal. A success settles its hold on the wallet with
// the payout (see payoutPosting); anything else releases the hold (when one was
// placed). The status, failure code and reason are recorded with it.
func (l *Ledger) FinishWithdrawal(ctx context.Context, in models.FinalizeWithdrawalInput) (Journal, error) {
	var p Posting
	if in.Status == models.WithdrawalSucceeded {
		clearing, err := l.EnsureAccount(ctx, ClearingSpec(in.Channel, in.Currency))
		if err != nil {
			return Journal{}, err
		}
		p = payoutPosting(in, clearing)
	}
	return l.closeHold(ctx, in.HoldID, in.Status == models.WithdrawalSucceeded, p, func(tx *Tx) error {
		return tx.SetWithdrawalStatus(in.WithdrawalID, in.Status, in.FailureCode, in.Reason)
	})
}

// payoutPosting moves a withdrawal's money from the wallet to the channel's bank
// clearing account (the wallet's balance goes down).
func payoutPosting(in models.FinalizeWithdrawalInput, clearing string) Posting {
	return Posting{
		Key: in.PostingKey, Flow: models.FlowWithdrawal, FlowID: in.WithdrawalID, MerchantID: in.MerchantID,
		Description: "withdrawal payout", Currency: in.Currency,
		Legs: []Leg{{AccountID: in.AccountID, Amount: -in.Amount}, {AccountID: clearing, Amount: in.Amount}},
	}
}

// paymentAccounts resolves the two accounts a payment's money moves between: the
// merchant's settlement account, and the payment's source (the wallet, or the
// channel's bank clearing account for a card).
func (l *Ledger) paymentAccounts(ctx context.Context, merchantID string, src models.PaymentSource, channel string, c models.Currency) (settlement, source string, err error) {
	if settlement, err = l.EnsureAccount(ctx, SettlementSpec(merchantID, c)); err != nil {
		return "", "", err
	}
	if src.Wallet() {
		return settlement, src.AccountID, nil
	}
	if source, err = l.EnsureAccount(ctx, ClearingSpec(channel, c)); err != nil {
		return "", "", err
	}
	return settlement, source, nil
}

// postWith posts p and runs record (the object's status) in one transaction.
func (l *Ledger) postWith(ctx context.Context, p Posting, record func(tx *Tx) error) (Journal, error) {
	var j Journal
	err := l.Run(ctx, func(tx *Tx) error {
		var err error
		if j, err = tx.Post(p); err != nil {
			return err
		}
		return record(tx)
	})
	return j, err
}

// closeHold settles the hold with p (settle) or releases it (a holdID of "" has
// nothing to release), and runs record, in one transaction.
func (l *Ledger) closeHold(ctx context.Context, holdID string, settle bool, p Posting, record func(tx *Tx) error) (Journal, error) {
	var j Journal
	err := l.Run(ctx, func(tx *Tx) error {
		switch {
		case settle:
			var err error
			if j, err = tx.SettleHold(holdID, p); err != nil {
				return err
			}
		case holdID != "":
			if _, err := tx.ReleaseHold(holdID); err != nil {
				return err
			}
		}
		return record(tx)
	})
	return j, err
}
