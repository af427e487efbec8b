package banksim

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// CallbackEvent is the body of a callback: the transfer and the event's id.
// A redelivery of one event keeps its id; a stale event has its own.
type CallbackEvent struct {
	Transfer
	EventID string `json:"event_id"`
}

// Callback outbox states.
const (
	cbPending   = "pending"
	cbDelivered = "delivered"
	cbRejected  = "rejected" // a 4xx other than 408/429: never retried
	cbExpired   = "expired"  // still failing an hour after it was due
)

// deliverBatch bounds the callbacks sent concurrently.
const deliverBatch = 32

// enqueueCallbacks writes the callbacks of a completed transfer into the
// outbox, in the transaction that completes it, so a crash can lose neither.
// With dup, the final event goes twice and then a stale "processing" event;
// after_id chains them so the stale one always arrives after the final one.
func enqueueCallbacks(ctx context.Context, tx *sql.Tx, final, stale Transfer, url string, due time.Time, dup bool) error {
	eventID := newID("cbe_")
	id, err := insertCallback(ctx, tx, final, eventID, url, due, nil)
	if err != nil || !dup {
		return err
	}
	id, err = insertCallback(ctx, tx, final, eventID, url, due, &id)
	if err != nil {
		return err
	}
	_, err = insertCallback(ctx, tx, stale, newID("cbe_"), url, due, &id)
	return err
}

func insertCallback(ctx context.Context, tx *sql.Tx, t Transfer, eventID, url string, due time.Time, after *int64) (int64, error) {
	body, err := json.Marshal(CallbackEvent{Transfer: t, EventID: eventID})
	if err != nil {
		return 0, fmt.Errorf("encode callback of %s: %w", t.Reference, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO callbacks (event_id, reference, url, body, after_id, first_at, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, eventID, t.Reference, url, body, after, due.UnixNano(), due.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("enqueue callback of %s: %w", t.Reference, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("enqueue callback of %s: %w", t.Reference, err)
	}
	return id, nil
}

// outboxRow is a pending callback.
type outboxRow struct {
	id        int64
	eventID   string
	reference string
	channel   string // empty for the bank's callbacks, else a wallet provider
	url       string
	body      []byte
	attempts  int
	firstAt   time.Time
}

// dueCallbacks is pending callbacks whose time has come and whose
// predecessor (after_id) is no longer pending.
const dueCallbacks = `FROM callbacks c WHERE c.state = 'pending' AND c.next_at <= ?
	AND (c.after_id IS NULL OR NOT EXISTS (SELECT 1 FROM callbacks p WHERE p.id = c.after_id AND p.state = 'pending'))`

// deliverDue sends one batch of due callbacks concurrently. It fails when a
// delivery's outcome could not be recorded, so the loop backs off rather than
// resending at once.
func (s *Server) deliverDue(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.event_id, c.reference, c.channel, c.url, c.body, c.attempts, c.first_at `+
		dueCallbacks+` ORDER BY c.next_at, c.id LIMIT ?`, s.now().UnixNano(), deliverBatch)
	if err != nil {
		return fmt.Errorf("list due callbacks: %w", err)
	}
	var batch []outboxRow
	for rows.Next() {
		var cb outboxRow
		var firstAt int64
		if err := rows.Scan(&cb.id, &cb.eventID, &cb.reference, &cb.channel, &cb.url, &cb.body, &cb.attempts, &firstAt); err != nil {
			rows.Close()
			return fmt.Errorf("scan due callback: %w", err)
		}
		cb.firstAt = fromNanos(firstAt)
		batch = append(batch, cb)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list due callbacks: %w", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(batch))
	for i, cb := range batch {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.deliver(ctx, cb)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deliver sends one callback and records the result; it fails only when the
// result could not be recorded.
func (s *Server) deliver(ctx context.Context, cb outboxRow) error {
	log := s.log.WithFields(logrus.Fields{
		"event_id": cb.eventID, "reference": cb.reference, "attempt": cb.attempts + 1,
	})
	code, err := s.post(ctx, cb)
	if ctx.Err() != nil {
		// Stopping: the callback stays pending and goes after the restart.
		return nil
	}
	now := s.now()
	state, next := cbPending, time.Time{}
	switch {
	case err == nil && code >= 200 && code < 300:
		state = cbDelivered
		log.WithField("status_code", code).Info("callback delivered")
	case err == nil && code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		state = cbRejected
		err = fmt.Errorf("receiver answered %d", code)
		log.WithField("status_code", code).Error("callback rejected by receiver; not retrying")
	default:
		if err == nil {
			err = fmt.Errorf("receiver answered %d", code)
		}
		if now.Sub(cb.firstAt) >= s.giveUp {
			state = cbExpired
			log.WithError(err).Error("callback still failing after the retry period; giving up")
		} else {
			delay := backoff(cb.attempts+1, s.retryBase, s.retryMax)
			next = now.Add(delay)
			log.WithError(err).WithField("retry_in", delay.String()).Warn("callback failed; will retry")
		}
	}
	lastErr := ""
	if err != nil {
		lastErr = err.Error()
	}
	wctx := context.WithoutCancel(ctx)
	werr := s.inTx(wctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(wctx, `UPDATE callbacks SET state = ?, attempts = attempts + 1, last_error = ?,
			next_at = CASE WHEN ? THEN ? ELSE next_at END WHERE id = ?`,
			state, lastErr, state == cbPending, next.UnixNano(), cb.id)
		return err
	})
	if werr != nil {
		return fmt.Errorf("record attempt of callback %s: %w", cb.eventID, werr)
	}
	return nil
}

// post sends the callback, signed at the current time with its channel's
// secret.
func (s *Server) post(ctx context.Context, cb outboxRow) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.url, bytes.NewReader(cb.body))
	if err != nil {
		return 0, fmt.Errorf("build callback request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, SignCallback(s.callbackSecret(cb.channel), s.now().Unix(), cb.body))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post callback: %w", err)
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// callbackSecret is the signing secret of a channel's callbacks: the bank's
// or a wallet provider's.
func (s *Server) callbackSecret(channel string) string {
	if channel == "" {
		return s.cfg.CallbackSecret
	}
	return s.cfg.Wallets[channel].NotifySecret
}

// backoff is the wait after the n-th failed attempt: base doubling, capped.
func backoff(n int, base, max time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}
