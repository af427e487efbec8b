package workflows

import "go.temporal.io/sdk/workflow"

// Each change to a released workflow goes behind workflow.GetVersion with a change id
// named here and a predicate that says which shape to run, so that histories recorded
// before the change replay unchanged (see docs/upgrades.md and replay_test.go). A
// predicate is called exactly where the new shape first differs from the old one, so
// that flows which never reach that point record no marker at all.

// changeCompensation: a payment or top-up whose posting is refused after the card was
// charged reverses the charge at the bank and ends failed with the refusal's code
// (version 1). Before, the workflow failed and left the refund to an operator.
const changeCompensation = "compensate-refused-posting"

// compensatesRefusedPosting reports whether this flow compensates a refused posting.
func compensatesRefusedPosting(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeCompensation, workflow.DefaultVersion, 1) >= 1
}

// ChangeNotifyWebhooks is the change that makes flows notify their outcome (store the
// event and start its delivery, see notifyOutcome) once it is recorded. Version 1.
const ChangeNotifyWebhooks = "notify-webhooks"

// notifiesWebhooks reports whether this execution notifies its outcome: executions that
// reach the notification on code with the change record version 1; histories recorded
// before it have no marker, replay as DefaultVersion and notify nothing.
func notifiesWebhooks(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, ChangeNotifyWebhooks, workflow.DefaultVersion, 1) >= 1
}

// changeBankCallPinned: bank calls route themselves one real channel at a time and
// stay pinned to a channel whose outcome is unknown, treat callbacks as hints (they
// query), send again to the same bank when a query says "not found", ask the bank to
// cancel at the deadline or on an operator's cancel and end only on its answer (or
// move to needs_attention), check the bank's amount and currency, and reverse charges
// under rev_ references in a call of their own (version 1, bankcall.go). Before:
// legacyBankCall (bankcall_legacy.go).
const changeBankCallPinned = "bank-call-pinned"

// pinsBankCalls reports whether this flow's bank calls are bankCall (version 1) or
// legacyBankCall. A flow asks once, where its first bank call starts; a flow that
// never calls a bank (a wallet payment) records no marker.
func pinsBankCalls(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeBankCallPinned, workflow.DefaultVersion, 1) >= 1
}

// changeDisabledStops: a withdrawal that waits for approval stops when its merchant is
// disabled, before its payout is sent (version 1): the wait ends on the
// merchant-disabled signal, and recording pending_approval or the approval refuses a
// disabled merchant (SetWithdrawalStatus names the merchant); the hold is released and
// the withdrawal ends failed merchant_disabled. Before, it waited for an operator's
// decision or the expiry, and an approval paid out.
const changeDisabledStops = "disabled-merchant-stops-withdrawal"

// stopsWhenDisabled reports whether this withdrawal's approval wait stops for a
// disabled merchant. A withdrawal asks once, as its approval wait starts; one under
// the review threshold never waits and records no marker.
func stopsWhenDisabled(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeDisabledStops, workflow.DefaultVersion, 1) >= 1
}

// changeUnsentChargeStops: a payment's or top-up's charge tells the Charge activity
// when no earlier request of its reference can be at a bank (ChargeInput.FirstSend:
// the flow's first send, or one after every earlier channel refused before acting),
// so that a merchant disabled before the charge left is refused there
// (merchant_disabled) without a charge and its reversal (version 1). Before, every
// charge was sent, and a disabled merchant's was reversed once the posting refused it.
const changeUnsentChargeStops = "disabled-merchant-unsent-charge"

// stopsUnsentCharge reports whether this flow marks its first send. A flow asks
// where its first send starts; a resend after an outcome that may have acted never
// asks, and a flow that never charges records no marker.
func stopsUnsentCharge(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeUnsentChargeStops, workflow.DefaultVersion, 1) >= 1
}

// changeReconciliationBalances: a reconciliation run whose statement was reconciled
// also checks the day's balances (CheckBalances) and adds the balance gaps it found to
// the counts it records (version 1). Before, a run compared the statement's lines only.
const changeReconciliationBalances = "reconciliation-balances"

// checksBalances reports whether this run checks the day's balances. A run asks once,
// after its statement was reconciled; a run whose statement failed records no marker.
func checksBalances(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeReconciliationBalances, workflow.DefaultVersion, 1) >= 1
}
