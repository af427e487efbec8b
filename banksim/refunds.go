package banksim

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/sirupsen/logrus"
)

// refundRequest is POST /v1/refunds.
type refundRequest struct {
	channelRequest
	ChargeReference string `json:"charge_reference"`
}

// validate checks charge_reference second, where it stands in the body.
func (q *refundRequest) validate() error {
	return firstError(
		validateReference("reference", q.Reference),
		validateReference("charge_reference", q.ChargeReference),
		q.channelRequest.validate(nil),
	)
}

func (q *refundRequest) plan(e *execRequest) logrus.Fields {
	e.ChargeReference = q.ChargeReference
	e.decide = func(ctx context.Context, tx *sql.Tx) (outcome, error) {
		return refundOutcome(ctx, tx, *q)
	}
	return logrus.Fields{"charge_reference": q.ChargeReference}
}

// refundOutcome decides a refund synchronously, inside the transaction that
// records it, so two concurrent refunds of one charge cannot both pass the
// "never more than the charge" check.
func refundOutcome(ctx context.Context, tx *sql.Tx, q refundRequest) (outcome, error) {
	charge, found, err := getTransfer(ctx, tx, q.ChargeReference)
	if err != nil {
		return outcome{}, err
	}
	if !found || charge.Kind != KindCharge || charge.Status != StatusSucceeded {
		return failed(FailureChargeNotFound), nil
	}
	if charge.Currency != q.Currency {
		return failed(FailureCurrencyMismatch), nil
	}
	// The sum never overflows: succeeded refunds never exceed the charge.
	var refunded int64
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM transfers
		WHERE kind = ? AND charge_reference = ? AND status = ?`,
		KindRefund, q.ChargeReference, StatusSucceeded).Scan(&refunded)
	if err != nil {
		return outcome{}, fmt.Errorf("sum refunds of %s: %w", q.ChargeReference, err)
	}
	if q.Amount > charge.Amount-refunded {
		return failed(FailureRefundExceedsCharge), nil
	}
	return succeeded(), nil
}

func (s *Server) handleRefund(w http.ResponseWriter, r *http.Request) {
	s.serveTransfer(w, r, KindRefund, &refundRequest{})
}
