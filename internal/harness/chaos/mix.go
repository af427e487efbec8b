package chaos

import (
	"context"
	"fmt"
	"sync/atomic"
)

// PaymentToken is a card token of the bank simulator and what a payment with it ends
// as.
type PaymentToken struct {
	Token, Want, Code string
	// Refund marks the succeeded payments that also get a partial refund.
	Refund bool
}

// PaymentTokens cycle through a run's card payments: immediate answers, callbacks
// later (tok_processing), a timeout after the bank acted (tok_timeout_success), a
// few 503s before success (tok_flaky), and refusals.
var PaymentTokens = []PaymentToken{
	{"tok_success", "succeeded", "", true},
	{"tok_processing", "succeeded", "", true},
	{"tok_timeout_success", "succeeded", "", true},
	{"tok_decline", "failed", "card_declined", false},
	{"tok_flaky", "succeeded", "", true},
	{"tok_success", "succeeded", "", false},
	{"tok_processing", "succeeded", "", false},
	{"tok_insufficient_funds", "failed", "insufficient_funds", false},
}

// Payout is a bank account of the simulator and what a withdrawal to it ends as.
type Payout struct{ Account, Want, Code string }

// Payouts cycle through a run's withdrawals.
var Payouts = []Payout{
	{"ba_success", "succeeded", ""},
	{"ba_processing", "succeeded", ""},
	{"ba_timeout_success", "succeeded", ""},
	{"ba_closed", "failed", "account_closed"},
}

// TopupTokens cycle through each wallet's top-ups.
var TopupTokens = []string{"tok_success", "tok_processing", "tok_timeout_success", "tok_flaky"}

// MixOptions size a mixed run.
type MixOptions struct {
	// Payments are card payments; Refunds of them (at most one each, of succeeded
	// payments whose token has Refund: at most half of them) follow as they succeed.
	Payments, Refunds int
	// Wallets each get two top-ups, then two withdrawals once both top-ups ended.
	Wallets int
	// Concurrency is how many chains (a payment and its refund, a wallet's flows)
	// run at once.
	Concurrency int
	// WalletPrefix names the wallets' references.
	WalletPrefix string
	// InStore are in-store payments (InStorePayments in turn: QR codes and wallet
	// providers' payment codes).
	InStore int
	// Approvals gives each wallet a third withdrawal, of ApprovalAmount, which must be
	// over the merchant's review threshold (and the first two's 20000 under it): an
	// operator approves it on even wallets (it pays out to ba_success) and rejects it
	// on odd ones (it ends canceled).
	Approvals bool
	// Verifications are bank-card verifications (verificationPlan), Bindings cards
	// bound to new wallets (one per wallet), the even ones then topped up from the
	// card; both are paced through the run by the flows created (identity.go).
	Verifications, Bindings int
}

// ApprovalAmount is the withdrawal that waits for an operator when MixOptions.Approvals.
const ApprovalAmount = 40000

// Flows is how many flows the options start: payments + refunds + 4 per wallet (5
// with approvals) + a top-up per even binding. Verifications and bindings are not
// flows of the count: Verify checks them apart.
func (o MixOptions) Flows() int {
	perWallet := 4
	if o.Approvals {
		perWallet = 5
	}
	return o.Payments + o.Refunds + perWallet*o.Wallets + o.InStore + o.BoundTopups()
}

// BoundTopups is how many top-ups from bound cards the options make.
func (o MixOptions) BoundTopups() int { return (o.Bindings + 1) / 2 }

// Mix runs the mixed workload through d, recording every flow in tr, and returns when
// every chain has ended (or failed; failures are in tr.Errs). Amounts differ per
// payment so that a mix-up would show. The identity services' requests run beside
// the chains, outside their concurrency limit.
func Mix(ctx context.Context, d *Driver, tr *Tracker, o MixOptions) {
	if o.Concurrency <= 0 {
		o.Concurrency = 16
	}
	if o.WalletPrefix == "" {
		o.WalletPrefix = "chaos"
	}
	chains := NewChains(tr, o.Concurrency)
	mainDone := make(chan struct{})
	identityDone := make(chan struct{})
	go func() {
		defer close(identityDone)
		if o.Verifications > 0 || o.Bindings > 0 {
			identityMix(ctx, d, tr, o, pacer{tr: tr, total: o.Flows(), mainDone: mainDone})
		}
	}()
	var refundsLeft atomic.Int32
	refundsLeft.Store(int32(o.Refunds))
	every := 1
	if o.Wallets > 0 && o.Payments >= o.Wallets {
		every = o.Payments / o.Wallets
	}
	wallets := 0
	for i := 0; i < o.InStore; i++ {
		kind := InStorePayments[i%len(InStorePayments)]
		amount := int64(500 + i)
		chains.Go(func() error { return inStoreChain(ctx, d, tr, kind, amount) })
	}
	for i := 0; i < o.Payments || wallets < o.Wallets; i++ {
		if i < o.Payments {
			tok := PaymentTokens[i%len(PaymentTokens)]
			amount := int64(1000 + i)
			chains.Go(func() error { return paymentChain(ctx, d, tr, tok, amount, &refundsLeft) })
		}
		if wallets < o.Wallets && (i%every == 0 || i >= o.Payments) {
			w := wallets
			wallets++
			chains.Go(func() error { return walletChain(ctx, d, tr, fmt.Sprintf("%s-%d", o.WalletPrefix, w), w, o.Approvals) })
		}
	}
	chains.Wait()
	close(mainDone)
	<-identityDone
}

// paymentChain pays by card, waits for the outcome and, for some succeeded payments,
// refunds 300 of it.
func paymentChain(ctx context.Context, d *Driver, tr *Tracker, tok PaymentToken, amount int64, refundsLeft *atomic.Int32) error {
	p, err := tr.Start(ctx, d, "payment", "/v1/payments", map[string]any{
		"amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok.Token},
	}, tok.Want, tok.Code)
	if err != nil {
		return err
	}
	got, err := tr.Wait(ctx, d, p, "payment")
	if err != nil {
		return err
	}
	if !tok.Refund || got.Status != "succeeded" || refundsLeft.Add(-1) < 0 {
		return nil
	}
	re, err := tr.Start(ctx, d, "refund", "/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 300}, "succeeded", "")
	if err != nil {
		return err
	}
	tr.Expect(p.ID, "partially_refunded")
	_, err = tr.Wait(ctx, d, re, "refund")
	return err
}

// walletChain opens a wallet, tops it up twice (50000 each) and, once both top-ups
// ended, withdraws 20000 twice (and, with approvals, ApprovalAmount once, which an
// operator approves or rejects).
func walletChain(ctx context.Context, d *Driver, tr *Tracker, reference string, w int, approvals bool) error {
	r, _, err := d.Create(ctx, "/v1/accounts", map[string]any{"currency": "CNY", "reference": reference}, 201)
	if err != nil {
		return err
	}
	var acct Object
	if err := r.JSON(&acct); err != nil {
		return err
	}
	tr.AddWallet(acct.ID)
	var tops []Object
	for k := 0; k < 2; k++ {
		tok := TopupTokens[(2*w+k)%len(TopupTokens)]
		top, err := tr.Start(ctx, d, "topup", "/v1/topups", map[string]any{
			"account_id": acct.ID, "amount": 50000, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok},
		}, "succeeded", "")
		if err != nil {
			return err
		}
		tops = append(tops, top)
	}
	for _, top := range tops {
		if _, err := tr.Wait(ctx, d, top, "topup"); err != nil {
			return err
		}
	}
	var wds []Object
	for k := 0; k < 2; k++ {
		po := Payouts[(2*w+k)%len(Payouts)]
		wd, err := tr.Start(ctx, d, "withdrawal", "/v1/withdrawals", map[string]any{
			"account_id": acct.ID, "amount": 20000, "currency": "CNY", "destination": map[string]any{"bank_account": po.Account},
		}, po.Want, po.Code)
		if err != nil {
			return err
		}
		wds = append(wds, wd)
	}
	if approvals {
		want, code, approve := "succeeded", "", w%2 == 0
		if !approve {
			want, code = "canceled", "rejected"
		}
		wd, err := tr.Start(ctx, d, "withdrawal", "/v1/withdrawals", map[string]any{
			"account_id": acct.ID, "amount": ApprovalAmount, "currency": "CNY", "destination": map[string]any{"bank_account": "ba_success"},
		}, want, code)
		if err != nil {
			return err
		}
		// The withdrawal holds the amount first, then waits for the operator.
		got, err := d.WaitFinal(ctx, "/v1/withdrawals/"+wd.ID, "processing")
		if err != nil {
			return err
		}
		if got.Status != "pending_approval" {
			return fmt.Errorf("withdrawal %s of %d over the review threshold is %s, not pending_approval", wd.ID, ApprovalAmount, got.Status)
		}
		if err := d.Decide(ctx, wd.ID, approve); err != nil {
			return err
		}
		wds = append(wds, wd)
	}
	for _, wd := range wds {
		if _, err := tr.Wait(ctx, d, wd, "withdrawal"); err != nil {
			return err
		}
	}
	return nil
}
