package models

import (
	"testing"
	"time"
)

// The webhook body is {"id","type","created","data"} in that order, built only from
// the stored event: the same event gives the same bytes.
func TestWebhookBody(t *testing.T) {
	e := Event{
		ID: "evt_1", Type: EventPaymentSucceeded, ObjectID: "pay_1", MerchantID: "mch_demo",
		Data:      []byte(`{"id":"pay_1","status":"succeeded"}`),
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 123456000, time.FixedZone("CST", 8*3600)),
	}
	want := `{"id":"evt_1","type":"payment.succeeded","created":"2025-12-31T16:00:00.123456Z","data":{"id":"pay_1","status":"succeeded"}}`
	for i := 0; i < 2; i++ {
		b, err := e.WebhookBody()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Fatalf("body = %s\nwant   %s", b, want)
		}
	}
	e.Data = []byte(`{"id":`)
	if _, err := e.WebhookBody(); err == nil {
		t.Fatal("a body with broken data was built")
	}
}

func TestOutcomeEventType(t *testing.T) {
	tests := []struct {
		flow   Flow
		status string
		want   EventType
		valid  bool
		prefix string
	}{
		{FlowPayment, "succeeded", EventPaymentSucceeded, true, PrefixPayment},
		{FlowPayment, "failed", EventPaymentFailed, true, PrefixPayment},
		{FlowPayment, "processing", "payment.processing", false, ""},
		{FlowTopup, "failed", EventTopupFailed, true, PrefixTopup},
		{FlowWithdrawal, "canceled", EventWithdrawalCanceled, true, PrefixWithdrawal},
		{FlowRefund, "succeeded", EventRefundSucceeded, true, PrefixRefund},
	}
	for _, tc := range tests {
		got := OutcomeEventType(tc.flow, tc.status)
		if got != tc.want || got.Valid() != tc.valid || got.ObjectPrefix() != tc.prefix {
			t.Errorf("%s %s: %q valid=%v prefix=%q", tc.flow, tc.status, got, got.Valid(), got.ObjectPrefix())
		}
	}
}
