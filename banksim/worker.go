package banksim

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/sirupsen/logrus"
)

// maxIdle bounds a background loop's sleep: a safety net should a wake-up
// be missed, and the pause after a failing step.
const maxIdle = time.Second

// completeBatch bounds the transfers completed per pass.
const completeBatch = 100

// Start runs the background work until ctx ends or Close: it completes
// processing transfers when due and delivers callbacks. Work left pending by
// an earlier run (the same file) resumes. Calls after the first do nothing.
func (s *Server) Start(ctx context.Context) {
	s.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(ctx)
		// Two loops, so that a slow callback receiver never delays the
		// completion of processing transfers.
		s.wg.Add(3)
		go func() {
			defer s.wg.Done()
			s.loop(ctx, "completer", s.wakeComplete, s.completeDue, s.nextCompletion)
		}()
		go func() {
			defer s.wg.Done()
			s.loop(ctx, "dispatcher", s.wakeDeliver, s.deliverDue, s.nextCallback)
		}()
		go func() {
			defer s.wg.Done()
			defer cancel()
			select {
			case <-ctx.Done():
			case <-s.stopping:
				// Aborts callbacks in flight; they stay pending for the next run.
			}
		}()
	})
}

// loop runs step, then sleeps until next says something is due, it is woken,
// or maxIdle passes.
func (s *Server) loop(ctx context.Context, name string, wake <-chan struct{},
	step func(context.Context) error, next func(context.Context) time.Duration) {
	log := s.log.WithField("loop", name)
	log.Debug("background loop started")
	defer log.Debug("background loop stopped")
	for {
		wait := maxIdle
		if err := step(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			// Something due keeps failing: retry calmly instead of spinning.
			log.WithError(err).Error("background step failed")
		} else {
			wait = next(ctx)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// kick wakes a loop without blocking.
func kick(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// untilDue turns the earliest due time (Unix nanoseconds) into a sleep.
func (s *Server) untilDue(next sql.NullInt64, err error) time.Duration {
	if err != nil || !next.Valid {
		return maxIdle
	}
	return min(max(fromNanos(next.Int64).Sub(s.now()), 0), maxIdle)
}

// nextCompletion is how long until the next processing transfer, customer
// confirmation of a payment code, credit report or fund order confirmation or
// payment is due. An order waiting for its NAV is looked at every maxIdle.
func (s *Server) nextCompletion(ctx context.Context) time.Duration {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(at) FROM (
		SELECT MIN(complete_at) AS at FROM transfers WHERE status = 'processing'
		UNION ALL
		SELECT MIN(confirm_at) FROM wallet_trades WHERE status = 'USERPAYING'
		UNION ALL
		SELECT MIN(ready_at) FROM credit_queries WHERE status = 'processing'
		UNION ALL
		SELECT MIN(confirm_at) FROM fund_orders WHERE status = 'accepted'
		UNION ALL
		SELECT MIN(pay_at) FROM fund_orders WHERE status = 'confirmed')`).Scan(&next)
	return s.untilDue(next, err)
}

// nextCallback is how long until the next callback may be sent.
func (s *Server) nextCallback(ctx context.Context) time.Duration {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(c.next_at) `+dueCallbacks, int64(math.MaxInt64)).Scan(&next)
	return s.untilDue(next, err)
}

// completeDue completes every processing transfer and credit query, and
// confirms every payment code, whose time has come.
func (s *Server) completeDue(ctx context.Context) error {
	if err := s.confirmDue(ctx); err != nil {
		return err
	}
	if err := s.completeCreditQueries(ctx); err != nil {
		return err
	}
	if err := s.completeFundOrders(ctx); err != nil {
		return err
	}
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
		kick(s.wakeDeliver)
		s.log.WithFields(logrus.Fields{
			"reference": done.Reference, "kind": done.Kind, "status": done.Status,
			"failure_code": done.FailureCode, "bank_id": done.BankID, "callback": done.CallbackURL != "",
		}).Info("completed processing transfer")
	}
	return nil
}

// confirmDue pays every USERPAYING trade whose customer confirms now (codes
// ending in 1), each in its own transaction with the lookup, so that a cancel
// or close racing it either comes first or finds the trade paid.
func (s *Server) confirmDue(ctx context.Context) error {
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT provider, out_trade_no FROM wallet_trades
			WHERE status = 'USERPAYING' AND confirm_at <= ? ORDER BY confirm_at, seq LIMIT ?`,
			s.now().UnixNano(), completeBatch)
		if err != nil {
			return fmt.Errorf("list due confirmations: %w", err)
		}
		var due [][2]string
		for rows.Next() {
			var d [2]string
			if err := rows.Scan(&d[0], &d[1]); err != nil {
				rows.Close()
				return fmt.Errorf("scan due confirmation: %w", err)
			}
			due = append(due, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list due confirmations: %w", err)
		}
		for _, d := range due {
			if err := s.confirm(ctx, d[0], d[1]); err != nil {
				return err
			}
		}
		if len(due) < completeBatch {
			return nil
		}
	}
}

// confirm pays a USERPAYING trade whose confirmation is due; a trade that
// changed meanwhile is left alone.
func (s *Server) confirm(ctx context.Context, provider, outTradeNo string) error {
	var paid *tradeRow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		paid = nil
		t, found, err := getTrade(ctx, tx, provider, outTradeNo)
		now := s.now().UTC()
		if err != nil || !found || t.Status != TradeUserPaying || t.ConfirmAt == nil || t.ConfirmAt.After(now) {
			return err
		}
		paid = &t
		return s.markPaid(ctx, tx, &t, now)
	})
	if err != nil {
		return fmt.Errorf("confirm %s trade %s: %w", provider, outTradeNo, err)
	}
	if paid != nil {
		kick(s.wakeDeliver)
		s.log.WithFields(logrus.Fields{
			"provider": provider, "out_trade_no": outTradeNo, "trade_no": paid.TradeNo, "status": paid.Status,
		}).Info("customer confirmed the payment code")
	}
	return nil
}
