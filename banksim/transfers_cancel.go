package banksim

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/sirupsen/logrus"
)

// cancelResult is what cancel did: refused, or a transfer (canceled by this
// request or an earlier one, or final).
type cancelResult struct {
	transfer Transfer
	// refused is the refuse_cancel fault's answer: the transfer may still execute.
	refused bool
	// canceled is true when this request made the transfer canceled (a
	// processing transfer stopped, or a tombstone written).
	canceled bool
}

// cancel stops the transfer with reference for good, in one write
// transaction with the lookup, so that it queues behind (or ahead of) the
// completer and any request of the same reference: a cancel racing the
// completion either cancels the transfer or finds it final, never both.
//
//   - A processing transfer becomes canceled: no movement, no statement line
//     (a statement lists movements), and its callbacks are queued as a
//     completion's would be.
//   - A final transfer (succeeded, failed, canceled) is answered unchanged: a
//     cancel never undoes an executed transfer.
//   - A reference never seen gets a tombstone: a canceled transfer without
//     kind, amount or currency that answers every later request of the
//     reference, so that "canceled" is proof that it never executes here.
//     There is no execution and no callback for it.
func (s *Server) cancel(ctx context.Context, reference string) (cancelResult, error) {
	refuse := s.Faults().RefuseCancel
	var res cancelResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = cancelResult{}
		now := s.now().UTC()
		t, found, err := getTransfer(ctx, tx, reference)
		switch {
		case err != nil:
			return err
		case found && t.Status != StatusProcessing:
			res.transfer = t.Transfer
			return nil
		case refuse:
			res.refused = true
			return nil
		case found:
			stale := t.Transfer
			t.Status, t.FailureCode, t.CompletedAt = StatusCanceled, "", &now
			// complete_at is cleared like a completion's, so the completer
			// never picks the transfer again.
			_, err := tx.ExecContext(ctx, `UPDATE transfers SET status = ?, failure_code = '', completed_at = ?, complete_at = NULL
				WHERE reference = ?`, t.Status, now.UnixNano(), reference)
			if err != nil {
				return fmt.Errorf("update transfer: %w", err)
			}
			if t.CallbackURL != "" {
				if err := enqueueCallbacks(ctx, tx, t.Transfer, stale, t.CallbackURL, now.Add(t.CallbackDelay), t.DupCallbacks); err != nil {
					return err
				}
			}
		default:
			t = transferRow{Transfer: Transfer{
				Reference:   reference,
				Status:      StatusCanceled,
				BankID:      newID("sim_"),
				CreatedAt:   now,
				CompletedAt: &now,
			}}
			if err := insertTransfer(ctx, tx, t); err != nil {
				return err
			}
		}
		res.transfer = t.Transfer
		res.canceled = true
		return nil
	})
	if err != nil {
		return cancelResult{}, fmt.Errorf("cancel %s: %w", reference, err)
	}
	if res.canceled && !res.transfer.tombstone() {
		kick(s.wakeDeliver)
	}
	return res, nil
}

// handleCancel answers POST /v1/transfers/{reference}/cancel.
func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("reference")
	if err := validateReference("reference", ref); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithField("reference", ref)
	// Like a channel request, the cancel completes even if the client goes
	// away: its outcome is then unknown to the caller, who asks again.
	res, err := s.cancel(context.WithoutCancel(r.Context()), ref)
	switch {
	case err != nil:
		writeInternal(w, log, err)
	case res.refused:
		log.Info("refused to cancel a transfer (refuse_cancel)")
		writeError(w, http.StatusConflict, ErrCodeNotCancelable, "the bank cannot stop this transfer; it may still execute")
	default:
		t := res.transfer
		log = log.WithFields(logrus.Fields{"kind": t.Kind, "status": t.Status, "bank_id": t.BankID})
		switch {
		case res.canceled && t.tombstone():
			log.Info("canceled a reference never seen; it will be refused from now on")
		case res.canceled:
			log.Info("canceled processing transfer")
		default:
			log.Info("cancel answered a final transfer")
		}
		writeJSON(w, http.StatusOK, t)
	}
}
