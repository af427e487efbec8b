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
	Reference       string `json:"reference"`
	ChargeReference string `json:"charge_reference"`
	Amount          int64  `json:"amount"`
	Currency        string `json:"currency"`
	CallbackURL     string `json:"callback_url"`
}

func (q refundRequest) validate() error {
	if err := validateReference("reference", q.Reference); err != nil {
		return err
	}
	if err := validateReference("charge_reference", q.ChargeReference); err != nil {
		return err
	}
	if err := validateAmount(q.Amount); err != nil {
		return err
	}
	if err := validateCurrency(q.Currency); err != nil {
		return err
	}
	return validateCallbackURL(q.CallbackURL)
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
	var req refundRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := req.validate(); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithFields(logrus.Fields{
		"reference": req.Reference, "kind": KindRefund, "amount": req.Amount, "currency": req.Currency,
		"charge_reference": req.ChargeReference,
	})
	res, err := s.execute(context.WithoutCancel(r.Context()), execRequest{
		Reference:       req.Reference,
		Kind:            KindRefund,
		Amount:          req.Amount,
		Currency:        req.Currency,
		ChargeReference: req.ChargeReference,
		CallbackURL:     req.CallbackURL,
		decide: func(ctx context.Context, tx *sql.Tx) (outcome, error) {
			return refundOutcome(ctx, tx, req)
		},
	})
	s.respond(w, r, log, res, err)
}
