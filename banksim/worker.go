package banksim

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
)

// maxIdle bounds the worker's sleep, a safety net should a wake-up be missed.
const maxIdle = time.Second

// completeBatch bounds the transfers completed per pass.
const completeBatch = 100

// Start runs the background work until ctx ends or Close: it completes
// processing transfers when due and delivers callbacks. Work left pending by
// an earlier run (the same file) resumes. Calls after the first do nothing.
func (s *Server) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		s.wg.Add(2)
		go func() {
			defer s.wg.Done()
			defer cancel()
			s.run(ctx)
		}()
		go func() {
			defer s.wg.Done()
			select {
			case <-ctx.Done():
			case <-s.stopping:
				cancel() // aborts callbacks in flight; they stay pending
			}
		}()
	})
}

func (s *Server) run(ctx context.Context) {
	s.log.Info("background worker started")
	defer s.log.Info("background worker stopped")
	for {
		failed := false
		if err := s.completeDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WithError(err).Error("complete processing transfers")
			failed = true
		}
		if err := s.deliverDue(ctx); err != nil && ctx.Err() == nil {
			s.log.WithError(err).Error("deliver callbacks")
			failed = true
		}
		wait := s.nextWake(ctx)
		if failed {
			// Something due keeps failing: retry calmly instead of spinning.
			wait = maxIdle
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-s.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// kick wakes the worker, e.g. when a new processing transfer is due soon.
func (s *Server) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// nextWake is how long the worker may sleep before something is due.
func (s *Server) nextWake(ctx context.Context) time.Duration {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(t) FROM (
		SELECT MIN(complete_at) AS t FROM transfers WHERE status = 'processing'
		UNION ALL
		SELECT MIN(c.next_at) `+dueCallbacks+`)`, int64(1<<63-1)).Scan(&next)
	if err != nil || !next.Valid {
		return maxIdle
	}
	return min(max(fromNanos(next.Int64).Sub(s.now()), 0), maxIdle)
}

// completeDue completes every processing transfer whose time has come.
func (s *Server) completeDue(ctx context.Context) error {
	for {
		now := s.now().UTC()
		rows, err := s.db.QueryContext(ctx, `SELECT reference FROM transfers
			WHERE status = 'processing' AND complete_at <= ? ORDER BY complete_at, seq LIMIT ?`,
			now.UnixNano(), completeBatch)
		if err != nil {
			return fmt.Errorf("list due transfers: %w", err)
		}
		var refs []string
		for rows.Next() {
			var ref string
			if err := rows.Scan(&ref); err != nil {
				rows.Close()
				return fmt.Errorf("scan due transfer: %w", err)
			}
			refs = append(refs, ref)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list due transfers: %w", err)
		}
		for _, ref := range refs {
			if err := s.complete(ctx, ref); err != nil {
				return err
			}
		}
		if len(refs) < completeBatch {
			return nil
		}
	}
}

// complete makes a processing transfer succeed and queues its callbacks, in
// one transaction; a transfer already final is left alone.
func (s *Server) complete(ctx context.Context, ref string) error {
	var done transferRow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, found, err := getTransfer(ctx, tx, ref)
		if err != nil || !found || t.Status != StatusProcessing {
			return err
		}
		stale := t.Transfer
		now := s.now().UTC()
		if err := finalize(ctx, tx, &t, StatusSucceeded, "", now); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE transfers SET status = ?, failure_code = ?, completed_at = ?, complete_at = NULL
			WHERE reference = ?`, t.Status, t.FailureCode, now.UnixNano(), ref)
		if err != nil {
			return fmt.Errorf("update transfer: %w", err)
		}
		if t.CallbackURL != "" {
			if err := enqueueCallbacks(ctx, tx, t.Transfer, stale, t.CallbackURL, now.Add(t.CallbackDelay), t.DupCallbacks); err != nil {
				return err
			}
		}
		done = t
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete %s: %w", ref, err)
	}
	if done.Reference != "" {
		s.log.WithFields(logrus.Fields{
			"reference": done.Reference, "kind": done.Kind, "status": done.Status,
			"failure_code": done.FailureCode, "bank_id": done.BankID, "callback": done.CallbackURL != "",
		}).Info("completed processing transfer")
	}
	return nil
}
