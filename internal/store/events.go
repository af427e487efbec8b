package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/payflow/payflow/models"
)

type eventRow struct {
	ID         string `gorm:"primaryKey"`
	MerchantID string
	Type       string
	ObjectID   string
	NotifyURL  string
	Data       string
	CreatedAt  time.Time
}

func (eventRow) TableName() string { return "events" }

func (r eventRow) model() models.Event {
	return models.Event{
		ID: r.ID, Object: "event", MerchantID: r.MerchantID, Type: models.EventType(r.Type), ObjectID: r.ObjectID,
		NotifyURL: r.NotifyURL, Data: []byte(r.Data), CreatedAt: r.CreatedAt.UTC(),
	}
}

type webhookAttemptRow struct {
	EventID     string `gorm:"primaryKey"`
	Attempt     int    `gorm:"primaryKey;autoIncrement:false"`
	DeliveryID  string
	AttemptedAt time.Time
	StatusCode  int
	ErrorText   string
	DurationMS  int64 `gorm:"column:duration_ms"`
	GaveUp      int
}

func (webhookAttemptRow) TableName() string { return "webhook_attempts" }

func (r webhookAttemptRow) model() models.WebhookAttempt {
	return models.WebhookAttempt{
		EventID: r.EventID, Attempt: r.Attempt, DeliveryID: r.DeliveryID, At: r.AttemptedAt.UTC(),
		StatusCode: r.StatusCode, Error: r.ErrorText, Duration: time.Duration(r.DurationMS) * time.Millisecond,
		GaveUp: r.GaveUp != 0,
	}
}

// maxAttemptError is the length of webhook_attempts.error_text.
const maxAttemptError = 1000

// CreateEvent appends the event of an object's terminal state, or finds the one stored
// before for the same object and type (a replayed or retried flow): it returns the
// stored event and whether this call created it. The event's id and creation time are
// those of the first call, so that every delivery says the same thing.
func (s *Store) CreateEvent(ctx context.Context, e models.Event) (models.Event, bool, error) {
	row := eventRow{
		ID: e.ID, MerchantID: e.MerchantID, Type: string(e.Type), ObjectID: e.ObjectID, NotifyURL: e.NotifyURL,
		Data: string(e.Data),
		// Microseconds: what DATETIME(6) keeps, so that the event read back (and the
		// webhook body built from it) is the event this call returns.
		CreatedAt: e.CreatedAt.UTC().Truncate(time.Microsecond),
	}
	err := translate(s.db.WithContext(ctx).Create(&row).Error)
	if err == nil {
		return row.model(), true, nil
	}
	if !errors.Is(err, ErrDuplicate) {
		return models.Event{}, false, fmt.Errorf("create event %s of %s: %w", e.Type, e.ObjectID, err)
	}
	var first eventRow
	if err := s.db.WithContext(ctx).Where("object_id = ? AND type = ?", e.ObjectID, string(e.Type)).Take(&first).Error; err != nil {
		return models.Event{}, false, fmt.Errorf("find event %s of %s: %w", e.Type, e.ObjectID, translate(err))
	}
	if first.MerchantID != e.MerchantID {
		return models.Event{}, false, fmt.Errorf("event %s of %s belongs to another merchant", e.Type, e.ObjectID)
	}
	return first.model(), false, nil
}

// Event returns the merchant's event, or ErrNotFound (also when it is another
// merchant's).
func (s *Store) Event(ctx context.Context, merchantID, id string) (models.Event, error) {
	return takeModel[eventRow](s.ofMerchant(ctx, merchantID, id), "event", id)
}

// ListEvents returns up to q.Limit of the merchant's events older than
// q.StartingAfter, newest first, and whether more follow. q.Status is ignored.
func (s *Store) ListEvents(ctx context.Context, q ListQuery) ([]models.Event, bool, error) {
	q.Status = ""
	return newestOfMerchant[eventRow](ctx, s.db, q, "list events")
}

// RecordWebhookAttempt appends an attempt, numbering it after the event's last one,
// and returns its number. Two attempts of one event racing for a number (an attempt
// that outlived its timeout beside its retry) both get recorded: the loser takes the
// next number.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a models.WebhookAttempt) (int, error) {
	errText := a.Error
	if len(errText) > maxAttemptError {
		errText = errText[:maxAttemptError]
		for !utf8.ValidString(errText) {
			errText = errText[:len(errText)-1]
		}
	}
	gaveUp := 0
	if a.GaveUp {
		gaveUp = 1
	}
	for try := 0; try < 5; try++ {
		var last struct{ N int }
		if err := s.db.WithContext(ctx).Model(&webhookAttemptRow{}).Select("COALESCE(MAX(attempt), 0) AS n").
			Where("event_id = ?", a.EventID).Scan(&last).Error; err != nil {
			return 0, fmt.Errorf("number attempt of %s: %w", a.EventID, translate(err))
		}
		row := webhookAttemptRow{
			EventID: a.EventID, Attempt: last.N + 1, DeliveryID: a.DeliveryID, AttemptedAt: a.At.UTC(),
			StatusCode: a.StatusCode, ErrorText: errText, DurationMS: a.Duration.Milliseconds(), GaveUp: gaveUp,
		}
		err := translate(s.db.WithContext(ctx).Create(&row).Error)
		if err == nil {
			return row.Attempt, nil
		}
		if !errors.Is(err, ErrDuplicate) {
			return 0, fmt.Errorf("record attempt of %s: %w", a.EventID, err)
		}
	}
	return 0, fmt.Errorf("record attempt of %s: attempt numbers keep colliding", a.EventID)
}

// WebhookAttempts returns the attempts of the events, by event id, oldest first.
func (s *Store) WebhookAttempts(ctx context.Context, eventIDs []string) (map[string][]models.WebhookAttempt, error) {
	out := make(map[string][]models.WebhookAttempt, len(eventIDs))
	if len(eventIDs) == 0 {
		return out, nil
	}
	var rows []webhookAttemptRow
	if err := s.db.WithContext(ctx).Where("event_id IN ?", eventIDs).Order("event_id, attempt").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("webhook attempts: %w", translate(err))
	}
	for _, r := range rows {
		out[r.EventID] = append(out[r.EventID], r.model())
	}
	return out, nil
}

// EventDeliveries returns the delivery state of each event at now, derived from its
// attempts (models.SummarizeDelivery); an event without attempts is pending.
func (s *Store) EventDeliveries(ctx context.Context, eventIDs []string, now time.Time) (map[string]models.EventDelivery, error) {
	attempts, err := s.WebhookAttempts(ctx, eventIDs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]models.EventDelivery, len(eventIDs))
	for _, id := range eventIDs {
		out[id] = models.SummarizeDelivery(attempts[id], now)
	}
	return out, nil
}

// WebhookBacklog counts the events of the last day that no attempt has delivered yet
// (no 2xx answer) and that were not given up: the webhook backlog operators alert on.
func (s *Store) WebhookBacklog(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT COUNT(*) FROM events e
		WHERE e.created_at > ?
		AND NOT EXISTS (SELECT 1 FROM webhook_attempts a WHERE a.event_id = e.id
			AND ((a.status_code >= 200 AND a.status_code < 300) OR a.gave_up = 1))`,
		now.Add(-24*time.Hour).UTC()).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("webhook backlog: %w", translate(err))
	}
	return n, nil
}
