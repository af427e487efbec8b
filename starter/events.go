package starter

import (
	"context"
	"errors"
	"fmt"

	"github.com/payflow/payflow/models"
)

// EventFlows starts webhook deliveries (the Starter).
type EventFlows interface {
	// RedeliverEvent starts an event's delivery again; ErrFlowRunning while one runs.
	RedeliverEvent(ctx context.Context, in models.WebhookDeliveryInput) error
}

// Events is the webhook events service: a merchant's events with the state of their
// deliveries, and redeliveries.
type Events struct {
	Deps
	Flows EventFlows
}

// List pages through the merchant's events, newest first, each with the state of its
// delivery derived from the recorded attempts; ErrUnknownCursor.
func (s *Events) List(ctx context.Context, q ListQuery) ([]models.Event, bool, error) {
	if err := checkCursor(ctx, q.MerchantID, q.StartingAfter, s.Store.Event); err != nil {
		return nil, false, err
	}
	items, more, err := s.Store.ListEvents(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	if items == nil {
		items = []models.Event{}
	}
	ids := make([]string, len(items))
	for i, e := range items {
		ids[i] = e.ID
	}
	deliveries, err := s.Store.EventDeliveries(ctx, ids, s.now())
	if err != nil {
		return nil, false, fmt.Errorf("event deliveries: %w", err)
	}
	for i := range items {
		d := deliveries[items[i].ID]
		items[i].Delivery = &d
	}
	return items, more, nil
}

// Get returns one of the merchant's events with its delivery state; ErrNotFound.
func (s *Events) Get(ctx context.Context, merchantID, id string) (models.Event, error) {
	ev, err := s.Store.Event(ctx, merchantID, id)
	if err != nil {
		return models.Event{}, err
	}
	deliveries, err := s.Store.EventDeliveries(ctx, []string{ev.ID}, s.now())
	if err != nil {
		return models.Event{}, fmt.Errorf("event delivery: %w", err)
	}
	d := deliveries[ev.ID]
	ev.Delivery = &d
	return ev, nil
}

// Redeliver delivers one of the merchant's events again by a new delivery (same id,
// same body), whatever became of the earlier ones, and answers the event as the new
// delivery starts. ErrNotFound; ErrMerchantDisabled (a disabled merchant's events are
// not sent again); ErrFlowRunning while a delivery of the event runs (one event never
// has two deliveries at once); *NotStartedError when the delivery could not start.
func (s *Events) Redeliver(ctx context.Context, merchantID, id string) (models.Event, error) {
	ev, err := s.Get(ctx, merchantID, id)
	if err != nil {
		return models.Event{}, err
	}
	if _, err := activeMerchant(ctx, s.Store, merchantID); err != nil {
		return models.Event{}, err
	}
	err = s.Flows.RedeliverEvent(ctx, models.WebhookDeliveryInput{EventID: ev.ID, MerchantID: ev.MerchantID})
	switch {
	case errors.Is(err, ErrFlowRunning):
		return models.Event{}, err
	case err != nil:
		return models.Event{}, &NotStartedError{Kind: "event redelivery", ObjectID: ev.ID, MerchantID: ev.MerchantID, Err: err}
	}
	// A new delivery has started and has made no attempt yet.
	ev.Delivery.Status = models.DeliveryPending
	return ev, nil
}
