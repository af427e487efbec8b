package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/safehttp"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Headers of a webhook request besides signing.HeaderSignature.
const (
	HeaderEventID    = "X-Payflow-Event-Id"
	WebhookUserAgent = "payflow-webhooks/1"
)

// Webhooks holds the activities that store events and deliver them to merchants'
// notify_urls. HTTP must enforce the outbound address policy (safehttp.NewClient).
type Webhooks struct {
	Store *store.Store
	HTTP  *http.Client
	Log   *logrus.Entry
	// Now is the clock of event times and signature timestamps (nil: time.Now).
	Now func() time.Time
}

// CreateEvent stores the event of an object's terminal state, with the object as the
// merchant API shows it (read here, so that the workflow's history carries ids, not
// objects). The event id is made here, on the first insert only: a second call for
// the same object and type (a replayed or retried flow) returns the first event.
func (w *Webhooks) CreateEvent(ctx context.Context, in models.CreateEventInput) (models.CreateEventResult, error) {
	log := logger(ctx, w.Log).WithFields(logrus.Fields{"merchant_id": in.MerchantID, "object_id": in.ObjectID, "event_type": in.Type})
	switch {
	case !in.Type.Valid():
		return models.CreateEventResult{}, invalidEvent("unknown event type %q", in.Type)
	case in.MerchantID == "":
		return models.CreateEventResult{}, invalidEvent("event %s of %s names no merchant", in.Type, in.ObjectID)
	case !models.ValidID(in.Type.ObjectPrefix(), in.ObjectID):
		return models.CreateEventResult{}, invalidEvent("event %s cannot be about %q", in.Type, in.ObjectID)
	case safehttp.CheckURL(in.NotifyURL) != nil:
		return models.CreateEventResult{}, invalidEvent("event %s of %s has no valid notify_url", in.Type, in.ObjectID)
	}
	obj, err := w.object(ctx, in.MerchantID, in.ObjectID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return models.CreateEventResult{}, invalidEvent("object %s of merchant %s not found", in.ObjectID, in.MerchantID)
	case errors.Is(err, errUnsupportedObject):
		return models.CreateEventResult{}, invalidEvent("%v", err)
	case err != nil:
		return models.CreateEventResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return models.CreateEventResult{}, invalidEvent("encode %s: %v", in.ObjectID, err)
	}
	ev, created, err := w.Store.CreateEvent(ctx, models.Event{
		ID: models.NewID(models.PrefixEvent), MerchantID: in.MerchantID, Type: in.Type, ObjectID: in.ObjectID,
		NotifyURL: in.NotifyURL, Data: data, CreatedAt: clock(w.Now),
	})
	if err != nil {
		return models.CreateEventResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	log.WithFields(logrus.Fields{"event_id": ev.ID, "created": created}).Info("event stored")
	return models.CreateEventResult{EventID: ev.ID, Created: created}, nil
}

var errUnsupportedObject = errors.New("events about this kind of object are not supported")

// object loads the object an event is about, as the merchant API shows it, by its id
// prefix. Events about a new kind of object need one case here.
func (w *Webhooks) object(ctx context.Context, merchantID, id string) (any, error) {
	switch {
	case strings.HasPrefix(id, models.PrefixPayment):
		return w.Store.Payment(ctx, merchantID, id)
	case strings.HasPrefix(id, models.PrefixTopup):
		return w.Store.Topup(ctx, merchantID, id)
	case strings.HasPrefix(id, models.PrefixWithdrawal):
		return w.Store.Withdrawal(ctx, merchantID, id)
	case strings.HasPrefix(id, models.PrefixRefund):
		return w.Store.Refund(ctx, merchantID, id)
	case strings.HasPrefix(id, models.PrefixCreditReport):
		// Without its content: an event is kept in clear and sent to a URL, a
		// report is personal data read (and each read recorded) through the API.
		r, err := w.Store.CreditReport(ctx, merchantID, id)
		r.Report = nil
		return r, err
	}
	return nil, fmt.Errorf("object %s: %w", id, errUnsupportedObject)
}

func invalidEvent(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), models.ErrTypeInvalidEvent, nil)
}

// DeliverWebhook POSTs a stored event to its notify_url once: the body built from the
// stored event (the same bytes on every attempt), signed with the merchant's webhook
// secrets at the time of sending: its current one, and its previous one too while a
// rotation overlaps (a merchant without a webhook secret: its API secret). Every
// attempt is recorded before the activity returns, whatever its outcome. A 2xx
// succeeds; another status or a network error is retried
// (models.ErrTypeWebhookFailed); a refused address and 410 Gone are not.
func (w *Webhooks) DeliverWebhook(ctx context.Context, in models.DeliverWebhookInput) (models.DeliverWebhookResult, error) {
	log := logger(ctx, w.Log).WithFields(logrus.Fields{"event_id": in.EventID, "merchant_id": in.MerchantID})
	ev, err := w.Store.Event(ctx, in.MerchantID, in.EventID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return models.DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("event %s of merchant %s not found", in.EventID, in.MerchantID), models.ErrTypeEventNotFound, nil)
	case err != nil:
		return models.DeliverWebhookResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	secrets, err := w.Store.WebhookSecrets(ctx, in.MerchantID)
	if err != nil {
		return models.DeliverWebhookResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	body, err := ev.WebhookBody()
	if err != nil {
		return models.DeliverWebhookResult{}, invalidEvent("%v", err)
	}

	at := clock(w.Now)
	started := time.Now()
	code, sendErr := w.post(ctx, ev, body, secrets, at)
	attempt := models.WebhookAttempt{
		EventID: ev.ID, DeliveryID: in.DeliveryID, At: at, StatusCode: code, Duration: time.Since(started),
	}
	var result error
	switch {
	case sendErr == nil && code >= 200 && code < 300:
	case errors.Is(sendErr, safehttp.ErrRefused):
		attempt.GaveUp, attempt.Error = true, sendErr.Error()
		result = temporal.NewNonRetryableApplicationError(attempt.Error, models.ErrTypeWebhookRefused, nil)
	case sendErr != nil:
		attempt.Error = sendErr.Error()
		result = temporal.NewApplicationError(attempt.Error, models.ErrTypeWebhookFailed)
	case code == http.StatusGone:
		attempt.GaveUp, attempt.Error = true, "the endpoint answered 410 Gone"
		result = temporal.NewNonRetryableApplicationError(attempt.Error, models.ErrTypeWebhookGone, nil)
	default:
		attempt.Error = fmt.Sprintf("the endpoint answered HTTP %d", code)
		result = temporal.NewApplicationError(attempt.Error, models.ErrTypeWebhookFailed)
	}

	// Recorded even when the activity's context is done (the exchange used up its
	// time): an attempt that happened is a fact.
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	n, err := w.Store.RecordWebhookAttempt(recCtx, attempt)
	if err != nil {
		// Without its record the attempt did not count: retry it (the merchant may
		// get the event once more, which at-least-once delivery allows).
		return models.DeliverWebhookResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	log = log.WithFields(logrus.Fields{"attempt": n, "status_code": code, "duration_ms": attempt.Duration.Milliseconds()})
	if result != nil {
		log.WithField("error", attempt.Error).Warn("webhook attempt failed")
		return models.DeliverWebhookResult{}, result
	}
	log.Info("webhook delivered")
	return models.DeliverWebhookResult{StatusCode: code, Attempt: n}, nil
}

// post sends one request, signed with each of secrets, and answers the status code.
// Its errors never carry the URL, which may hold the merchant's own secrets in its
// query.
func (w *Webhooks) post(ctx context.Context, ev models.Event, body []byte, secrets []string, at time.Time) (int, error) {
	if err := safehttp.CheckURL(ev.NotifyURL); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ev.NotifyURL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("%w: cannot build a request for the notify_url", safehttp.ErrRefused)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", WebhookUserAgent)
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(signing.HeaderSignature, signing.SignWebhookAll(secrets, at.Unix(), body))
	client := w.HTTP
	if client == nil {
		client = safehttp.NewClient(safehttp.Options{})
	}
	resp, err := client.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return 0, urlErr.Err
		}
		return 0, err
	}
	safehttp.DrainBody(resp.Body)
	return resp.StatusCode, nil
}
