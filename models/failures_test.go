package models

import "testing"

// The failure vocabulary is recorded: API answers carry the codes, and workflow
// histories carry the error types (a changed string would change what a replayed
// workflow decides). Every string stays byte-identical.
func TestFailureTypesAreTheRecordedStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{string(FailureCardDeclined), "card_declined"},
		{string(FailureInsufficientFunds), "insufficient_funds"},
		{string(FailureAccountClosed), "account_closed"},
		{string(FailureBankUnavailable), "bank_unavailable"},
		{string(FailureExpired), "expired"},
		{string(FailureLedgerRejected), "ledger_rejected"},
		{string(FailureMerchantDisabled), "merchant_disabled"},
		{string(FailureCanceled), "canceled"},
		{string(FailureRejected), "rejected"},
		{ErrTypeBankUnavailable, "bank_unavailable"},
		{ErrTypeUnknownOutcome, "unknown_outcome"},
		{ErrTypeNotCancelable, "not_cancelable"},
		{ErrTypeNoRoute, "no_route"},
		{ErrTypeLedgerRejected, "ledger_rejected"},
		{ErrTypeDatabase, "database"},
		{ErrTypeInvalidInput, "invalid_input"},
		{ErrTypeStatementUnreadable, "statement_unreadable"},
		{ErrTypeTemporal, "temporal"},
		{ErrTypeInterrupted, "interrupted"},
		{ErrTypeTimeout, "timeout"},
		{ErrTypeFailed, "failed"},
		{ErrTypeSweepIncomplete, "sweep_incomplete"},
		{ErrTypeWebhookFailed, "webhook_failed"},
		{ErrTypeWebhookRefused, "webhook_refused"},
		{ErrTypeWebhookGone, "webhook_gone"},
		{ErrTypeEventNotFound, "event_not_found"},
		{ErrTypeInvalidEvent, "invalid_event"},
	} {
		if tc.got != tc.want {
			t.Errorf("type %q, recorded histories carry %q", tc.got, tc.want)
		}
	}
	want := []string{"card_declined", "insufficient_funds", "account_closed", "merchant_disabled", "ledger_rejected"}
	got := BusinessErrorTypes()
	if len(got) != len(want) {
		t.Fatalf("business types %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("business types %v, want %v", got, want)
		}
	}
}
