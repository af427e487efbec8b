package models

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType names what happened to an object: <object>.<terminal status>.
type EventType string

// Event types: one per terminal state of an object a merchant can ask to be told about.
const (
	EventPaymentSucceeded    EventType = "payment.succeeded"
	EventPaymentFailed       EventType = "payment.failed"
	EventRefundSucceeded     EventType = "refund.succeeded"
	EventRefundFailed        EventType = "refund.failed"
	EventTopupSucceeded      EventType = "topup.succeeded"
	EventTopupFailed         EventType = "topup.failed"
	EventWithdrawalSucceeded EventType = "withdrawal.succeeded"
	EventWithdrawalFailed    EventType = "withdrawal.failed"
	EventWithdrawalCanceled  EventType = "withdrawal.canceled"
)

// eventObjectPrefix is the id prefix of the object each event type is about, so that an
// event about the wrong kind of object is refused before it is stored.
var eventObjectPrefix = map[EventType]string{
	EventPaymentSucceeded:    PrefixPayment,
	EventPaymentFailed:       PrefixPayment,
	EventRefundSucceeded:     PrefixRefund,
	EventRefundFailed:        PrefixRefund,
	EventTopupSucceeded:      PrefixTopup,
	EventTopupFailed:         PrefixTopup,
	EventWithdrawalSucceeded: PrefixWithdrawal,
	EventWithdrawalFailed:    PrefixWithdrawal,
	EventWithdrawalCanceled:  PrefixWithdrawal,
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	_, ok := eventObjectPrefix[t]
	return ok
}

// ObjectPrefix is the id prefix of the objects events of this type are about ("" for
// an unknown type).
func (t EventType) ObjectPrefix() string { return eventObjectPrefix[t] }

// OutcomeEventType is the event type of a flow's outcome: payment + succeeded ->
// payment.succeeded. The result may be invalid (payment + processing); check Valid.
func OutcomeEventType(flow Flow, status string) EventType {
	return EventType(string(flow) + "." + status)
}

// WebhookDeliveryWindow is how long a delivery retries an event before it gives up:
// the ScheduleToClose timeout of the delivery activity, and the age after which a
// delivery without success shows as failed.
const WebhookDeliveryWindow = 24 * time.Hour

// Event is a stored fact: an object of a merchant reached a terminal state. Events are
// appended once per (object, type) and never changed; Data is the object as the
// merchant API showed it at that moment.
type Event struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"`
	MerchantID string          `json:"merchant_id"`
	Type       EventType       `json:"type"`
	ObjectID   string          `json:"object_id"`
	NotifyURL  string          `json:"notify_url"`
	Data       json.RawMessage `json:"data"`
	CreatedAt  time.Time       `json:"created"`
	// Delivery is the state of the event's webhook deliveries, derived from the
	// recorded attempts (nil where it was not asked for).
	Delivery *EventDelivery `json:"delivery,omitempty"`
}

// WebhookEnvelope is the body POSTed to a notify_url. Its fields and their order are
// part of the contract: the signature covers the exact bytes.
type WebhookEnvelope struct {
	ID      string          `json:"id"`
	Type    EventType       `json:"type"`
	Created time.Time       `json:"created"`
	Data    json.RawMessage `json:"data"`
}

// WebhookBody is the body every delivery of the event sends: {"id","type","created",
// "data"}, built only from the stored event, so that every attempt of every delivery
// carries the same bytes.
func (e Event) WebhookBody() ([]byte, error) {
	if !json.Valid(e.Data) {
		return nil, fmt.Errorf("event %s: stored data is not JSON", e.ID)
	}
	b, err := json.Marshal(WebhookEnvelope{ID: e.ID, Type: e.Type, Created: e.CreatedAt.UTC(), Data: e.Data})
	if err != nil {
		return nil, fmt.Errorf("event %s: %w", e.ID, err)
	}
	return b, nil
}

// DeliveryStatus is where an event's latest delivery stands.
type DeliveryStatus string

// Delivery statuses.
const (
	// DeliveryPending: no attempt of the latest delivery succeeded yet, and it may
	// still retry.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryDelivered: an attempt of the latest delivery got a 2xx.
	DeliveryDelivered DeliveryStatus = "delivered"
	// DeliveryFailed: the latest delivery gave up (a refusal that is not retried, or
	// WebhookDeliveryWindow passed without a 2xx).
	DeliveryFailed DeliveryStatus = "failed"
)

// EventDelivery is an event's delivery state as the merchant API shows it.
type EventDelivery struct {
	Status DeliveryStatus `json:"status"`
	// Attempts counts every attempt of every delivery (redeliveries included).
	Attempts       int        `json:"attempts"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
}

// WebhookAttempt is the record of one POST of an event to its notify_url, appended
// before the attempt's activity returns, whatever its outcome.
type WebhookAttempt struct {
	EventID string
	// Attempt numbers the event's attempts from 1, across deliveries.
	Attempt int
	// DeliveryID names the delivery (the delivery workflow's run) the attempt
	// belongs to; a redelivery is a new delivery.
	DeliveryID string
	At         time.Time
	// StatusCode is the HTTP status answered, 0 when none came (network error,
	// refused address).
	StatusCode int
	// Error says why the attempt failed (truncated); never shown to merchants, since
	// it may describe networks they must not learn about.
	Error    string
	Duration time.Duration
	// GaveUp marks a failure that ends its delivery at once (a refused address, 410
	// Gone) rather than being retried.
	GaveUp bool
}

// Succeeded reports whether the endpoint accepted the attempt (2xx).
func (a WebhookAttempt) Succeeded() bool { return a.StatusCode >= 200 && a.StatusCode < 300 }

// SummarizeDelivery derives an event's delivery state from its attempts (in any
// order) at now. Only the latest delivery (the one of the highest attempt) decides the
// status: delivered if one of its attempts succeeded, failed if one gave up or its
// first attempt is WebhookDeliveryWindow old, pending otherwise (also with no attempt
// yet). Nothing is ever updated to record the state: it is a function of the facts.
func SummarizeDelivery(attempts []WebhookAttempt, now time.Time) EventDelivery {
	d := EventDelivery{Status: DeliveryPending, Attempts: len(attempts)}
	if len(attempts) == 0 {
		return d
	}
	last := attempts[0]
	for _, a := range attempts[1:] {
		if a.Attempt > last.Attempt {
			last = a
		}
	}
	at := last.At.UTC()
	d.LastAttemptAt = &at
	if last.StatusCode != 0 {
		code := last.StatusCode
		d.LastStatusCode = &code
	}
	first := last.At
	for _, a := range attempts {
		if a.DeliveryID != last.DeliveryID {
			continue
		}
		switch {
		case a.Succeeded():
			d.Status = DeliveryDelivered
			return d
		case a.GaveUp:
			d.Status = DeliveryFailed
		}
		if a.At.Before(first) {
			first = a.At
		}
	}
	if d.Status == DeliveryPending && !now.Before(first.Add(WebhookDeliveryWindow)) {
		d.Status = DeliveryFailed
	}
	return d
}

// NotifyInput asks a flow to tell the merchant that an object reached a terminal
// state: store the event and start its delivery. An empty NotifyURL means the
// merchant asked for no webhook.
type NotifyInput struct {
	MerchantID string    `json:"merchant_id"`
	ObjectID   string    `json:"object_id"`
	EventType  EventType `json:"event_type"`
	NotifyURL  string    `json:"notify_url"`
}

// CreateEventInput stores the event of an object's terminal state. The activity
// reads the object itself, so that the payload in the workflow's history stays small.
type CreateEventInput struct {
	MerchantID string    `json:"merchant_id"`
	ObjectID   string    `json:"object_id"`
	Type       EventType `json:"type"`
	NotifyURL  string    `json:"notify_url"`
}

// CreateEventResult names the stored event; Created is false when an earlier run
// had stored it (the flow replayed or retried).
type CreateEventResult struct {
	EventID string `json:"event_id"`
	Created bool   `json:"created"`
}

// WebhookDeliveryInput starts the delivery of a stored event.
type WebhookDeliveryInput struct {
	EventID    string `json:"event_id"`
	MerchantID string `json:"merchant_id"`
}

// WebhookDeliveryResult is how a delivery ended: delivered (with the accepting
// attempt), or failed after it gave up.
type WebhookDeliveryResult struct {
	Status     DeliveryStatus `json:"status"`
	StatusCode int            `json:"status_code,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
}

// DeliverWebhookInput is one attempt (with its retries) to POST an event.
// DeliveryID is the delivery workflow's run id, recorded with every attempt.
type DeliverWebhookInput struct {
	EventID    string `json:"event_id"`
	MerchantID string `json:"merchant_id"`
	DeliveryID string `json:"delivery_id"`
}

// DeliverWebhookResult is the accepted attempt.
type DeliverWebhookResult struct {
	StatusCode int `json:"status_code"`
	Attempt    int `json:"attempt"`
}
