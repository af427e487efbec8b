package banksim

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// flakyRefusals is how many requests of a tok_flaky reference are refused
// before one executes.
const flakyRefusals = 2

// outcome is what the bank decides for a transfer it has not seen before.
type outcome struct {
	status      Status
	failureCode string
	// hang holds the response after executing (*_timeout_success).
	hang bool
}

func succeeded() outcome             { return outcome{status: StatusSucceeded} }
func failed(code string) outcome     { return outcome{status: StatusFailed, failureCode: code} }
func processing() outcome            { return outcome{status: StatusProcessing} }
func succeededThenHang() outcome     { return outcome{status: StatusSucceeded, hang: true} }
func (o outcome) isProcessing() bool { return o.status == StatusProcessing }

// execRequest is a validated channel request.
type execRequest struct {
	Reference       string
	Kind            Kind
	Amount          int64
	Currency        string
	ChargeReference string
	CallbackURL     string
	// flaky refuses the first flakyRefusals requests of the reference.
	flaky bool
	// decide picks the outcome inside the transaction that records it.
	decide func(ctx context.Context, tx *sql.Tx) (outcome, error)
}

// channelRequest is the body every transfer request shares (POST /v1/charges,
// /v1/payouts and /v1/refunds); each embeds it beside its own fields.
type channelRequest struct {
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	CallbackURL string `json:"callback_url"`
}

func (c *channelRequest) shared() *channelRequest { return c }

// validate checks the shared fields in the order of the body, with own (the
// check of the request's own field, nil for none) after the currency.
func (c *channelRequest) validate(own error) error {
	return firstError(
		validateReference("reference", c.Reference),
		validateAmount(c.Amount),
		validateCurrency(c.Currency),
		own,
		validateCallbackURL(c.CallbackURL),
	)
}

// transferRequest is the body of a transfer request: a channelRequest and the
// request's own fields.
type transferRequest interface {
	shared() *channelRequest
	validate() error
	// plan sets what the request's own fields decide in the execRequest made of
	// the shared ones, and returns the own fields to log.
	plan(*execRequest) logrus.Fields
}

// serveTransfer answers a transfer request of kind: it decodes the body into
// req, validates it and executes it.
func (s *Server) serveTransfer(w http.ResponseWriter, r *http.Request, kind Kind, req transferRequest) {
	if err := decodeJSON(w, r, req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := req.validate(); err != nil {
		writeInvalid(w, err)
		return
	}
	c := req.shared()
	exec := execRequest{Reference: c.Reference, Kind: kind, Amount: c.Amount, Currency: c.Currency, CallbackURL: c.CallbackURL}
	fields := req.plan(&exec)
	fields["reference"], fields["kind"], fields["amount"], fields["currency"] = c.Reference, kind, c.Amount, c.Currency
	log := s.log.WithFields(fields)
	// The request executes even if the client goes away meanwhile, as at a
	// real bank: that is what makes a timeout's outcome unknown.
	res, err := s.execute(context.WithoutCancel(r.Context()), exec)
	s.respond(w, r, log, res, err)
}

// execResult is what execute did; exactly one of conflict, refused or a
// transfer holds.
type execResult struct {
	transfer Transfer
	conflict bool
	refused  bool
	// executed is true when this request executed the transfer (false when
	// it found an earlier one).
	executed bool
	hang     bool
}

// execute runs a channel request exactly once per reference. The lookup, the
// decision and the records (transfer, execution, movement, statement line)
// share one write transaction, so concurrent identical requests queue and all
// but the first find the first one's transfer.
func (s *Server) execute(ctx context.Context, req execRequest) (execResult, error) {
	var res execResult
	faults := s.Faults()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res = execResult{}
		now := s.now().UTC()
		existing, found, err := getTransfer(ctx, tx, req.Reference)
		if err != nil {
			return err
		}
		if found {
			// A reference canceled before the bank saw it is refused for
			// good, whatever the request: the tombstone has nothing to
			// conflict with, and its answer is what the canceler relies on.
			if existing.tombstone() {
				res.transfer = existing.Transfer
				return nil
			}
			if existing.Kind != req.Kind || existing.Amount != req.Amount || existing.Currency != req.Currency ||
				existing.ChargeReference != req.ChargeReference {
				res.conflict = true
				return nil
			}
			res.transfer = existing.Transfer
			return nil
		}
		if req.flaky {
			n, err := bumpAttempts(ctx, tx, req.Reference)
			if err != nil {
				return err
			}
			if n <= flakyRefusals {
				res.refused = true
				return nil
			}
		}
		out, err := req.decide(ctx, tx)
		if err != nil {
			return err
		}
		t := transferRow{
			Transfer: Transfer{
				Reference: req.Reference,
				Kind:      req.Kind,
				Amount:    req.Amount,
				Currency:  req.Currency,
				Status:    out.status,
				BankID:    newID("sim_"),
				CreatedAt: now,
			},
			ChargeReference: req.ChargeReference,
			CallbackURL:     req.CallbackURL,
		}
		if t.CallbackURL == "" {
			t.CallbackURL = s.cfg.DefaultCallbackURL
		}
		if out.isProcessing() {
			// Faults are read when the transfer is created, so a test that
			// sets them and then creates transfers gets what it asked for.
			t.CompleteAt = now.Add(time.Duration(faults.ProcessingMS) * time.Millisecond)
			t.CallbackDelay = time.Duration(faults.CallbackDelayMS) * time.Millisecond
			t.DupCallbacks = faults.DuplicateCallbacks
		} else if err := finalize(ctx, tx, &t, out.status, out.failureCode, now); err != nil {
			return err
		}
		if err := insertTransfer(ctx, tx, t); err != nil {
			return err
		}
		if err := insertExecution(ctx, tx, t.Reference, t.Kind, now); err != nil {
			return err
		}
		res.transfer = t.Transfer
		res.executed = true
		res.hang = out.hang
		return nil
	})
	if err != nil {
		return execResult{}, fmt.Errorf("execute %s %s: %w", req.Kind, req.Reference, err)
	}
	if res.executed && res.transfer.Status == StatusProcessing {
		kick(s.wakeComplete)
	}
	return res, nil
}

// finalize makes t final at now: it moves the house balance of a success
// (failing the transfer with limit_exceeded if the balance would overflow)
// and writes the statement line. The caller stores t.
func finalize(ctx context.Context, tx *sql.Tx, t *transferRow, status Status, failureCode string, now time.Time) error {
	if status == StatusSucceeded {
		delta := t.Amount
		if t.Kind != KindCharge {
			delta = -t.Amount
		}
		ok, err := moveHouse(ctx, tx, t.Currency, delta)
		if err != nil {
			return err
		}
		if !ok {
			status, failureCode = StatusFailed, FailureLimitExceeded
		}
	}
	t.Status, t.FailureCode = status, failureCode
	t.CompletedAt = &now
	return insertStatementLine(ctx, tx, t.Transfer)
}

func insertExecution(ctx context.Context, tx *sql.Tx, reference string, kind Kind, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO executions (reference, kind, executed_at) VALUES (?, ?, ?)`,
		reference, kind, now.UnixNano())
	if err != nil {
		return fmt.Errorf("record execution of %s: %w", reference, err)
	}
	return nil
}

// bumpAttempts counts one more refused-or-executed request of reference and
// returns the new count. It is stored so that a restart keeps counting.
func bumpAttempts(ctx context.Context, tx *sql.Tx, reference string) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, `INSERT INTO attempts (reference, count) VALUES (?, 1)
		ON CONFLICT (reference) DO UPDATE SET count = count + 1
		RETURNING count`, reference).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count attempts of %s: %w", reference, err)
	}
	return n, nil
}

// respond answers a channel request from execute's result.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, log *logrus.Entry, res execResult, err error) {
	switch {
	case err != nil:
		writeInternal(w, log, err)
	case res.conflict:
		log.Warn("reference reused with different parameters")
		writeError(w, http.StatusConflict, ErrCodeReferenceConflict, "the reference was used for a different transfer")
	case res.refused:
		log.Info("refused flaky request before processing")
		writeUnavailable(w)
	default:
		t := res.transfer
		log = log.WithFields(logrus.Fields{"status": t.Status, "failure_code": t.FailureCode, "bank_id": t.BankID})
		switch {
		case res.executed:
			log.Info("executed transfer")
		case t.Status == StatusCanceled:
			log.Info("answered a canceled reference; not executing")
		default:
			log.Debug("answered repeated reference")
		}
		if res.hang {
			s.hold(r.Context())
			log.Info("released the held response of an executed transfer")
			writeError(w, http.StatusGatewayTimeout, ErrCodeTimeout,
				"the bank did not answer in time; query the reference to learn the outcome")
			return
		}
		writeJSON(w, http.StatusOK, t)
	}
}

// hold blocks until the client goes away, the server stops or hangLimit
// passes: the caller sees a timeout although the transfer happened.
func (s *Server) hold(ctx context.Context) {
	timer := time.NewTimer(s.hangLimit)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-s.stopping:
	case <-timer.C:
	}
}
