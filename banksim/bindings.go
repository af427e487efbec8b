package banksim

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Card binding statuses: the state of a binding (otp_sent, active, failed,
// removed) and the answers of a confirm that leave it otp_sent.
const (
	BindingOTPSent   = "otp_sent"
	BindingActive    = "active"
	BindingFailed    = "failed"
	BindingRemoved   = "removed"
	OTPIncorrect     = "otp_incorrect"
	OTPExpired       = "otp_expired"
	OTPTriesExceeded = "otp_attempts_exceeded"
)

// AgreementPrefix starts an agreement number: the payment instrument a
// binding makes, usable as a charge token and a payout bank_account.
const AgreementPrefix = "agr_"

// OTP limits.
const (
	otpTTL      = 5 * time.Minute
	otpMaxTries = 3
)

// bindRequest is POST /v1/card_bindings.
type bindRequest struct {
	RequestID  string `json:"request_id"`
	CardNumber string `json:"card_number"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	Phone      string `json:"phone"`
}

// BindingAnswer is every answer about a card binding.
type BindingAnswer struct {
	RequestID        string     `json:"request_id"`
	Status           string     `json:"status"`
	Reason           string     `json:"reason,omitempty"`
	MismatchedFields []string   `json:"mismatched_fields,omitempty"`
	OTPExpiresAt     *time.Time `json:"otp_expires_at,omitempty"`
	AgreementNo      string     `json:"agreement_no,omitempty"`
	Card             *CardInfo  `json:"card,omitempty"`
}

// bindingRow is a stored binding.
type bindingRow struct {
	RequestID   string
	CardNumber  string
	Phone       string
	Status      string
	Reason      string
	Mismatched  []string
	OTP         string
	OTPSentAt   *time.Time
	OTPAttempts int
	AgreementNo string
}

// answer is the binding's state as the bank tells it.
func (b bindingRow) answer(ctx context.Context, q querier) (BindingAnswer, error) {
	a := BindingAnswer{RequestID: b.RequestID, Status: b.Status, Reason: b.Reason}
	switch b.Status {
	case BindingFailed:
		a.MismatchedFields = b.Mismatched
	case BindingOTPSent:
		if b.OTPSentAt != nil {
			exp := b.OTPSentAt.Add(otpTTL).UTC()
			a.OTPExpiresAt = &exp
		}
	case BindingActive, BindingRemoved:
		a.AgreementNo = b.AgreementNo
		card := CardInfo{Last4: last4(b.CardNumber)}
		if holder, found, err := getCardholder(ctx, q, b.CardNumber); err != nil {
			return BindingAnswer{}, err
		} else if found {
			card.Bank, card.CardType = holder.Bank, holder.CardType
		}
		a.Card = &card
	}
	return a, nil
}

func getBinding(ctx context.Context, q querier, requestID string) (bindingRow, bool, error) {
	b := bindingRow{RequestID: requestID}
	var mismatched string
	var sentAt sql.NullInt64
	var agreement sql.NullString
	err := q.QueryRowContext(ctx, `SELECT card_number, phone, status, reason, mismatched, otp, otp_sent_at, otp_attempts, agreement_no
		FROM card_bindings WHERE request_id = ?`, requestID).
		Scan(&b.CardNumber, &b.Phone, &b.Status, &b.Reason, &mismatched, &b.OTP, &sentAt, &b.OTPAttempts, &agreement)
	if errors.Is(err, sql.ErrNoRows) {
		return bindingRow{}, false, nil
	}
	if err != nil {
		return bindingRow{}, false, fmt.Errorf("read binding %s: %w", requestID, err)
	}
	if err := json.Unmarshal([]byte(mismatched), &b.Mismatched); err != nil {
		return bindingRow{}, false, fmt.Errorf("read binding %s: mismatched fields: %w", requestID, err)
	}
	if sentAt.Valid {
		t := fromNanos(sentAt.Int64)
		b.OTPSentAt = &t
	}
	b.AgreementNo = agreement.String
	return b, true, nil
}

// newOTP is a random 6-digit code.
func newOTP() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// sendOTP stores a fresh code on the binding and "sends" it to the phone: it
// shows at GET /sim/sms when it arrives.
func sendOTP(ctx context.Context, tx *sql.Tx, b *bindingRow, now time.Time) error {
	b.OTP, b.OTPSentAt, b.OTPAttempts = newOTP(), &now, 0
	if _, err := tx.ExecContext(ctx, `UPDATE card_bindings SET otp = ?, otp_sent_at = ?, otp_attempts = 0 WHERE request_id = ?`,
		b.OTP, now.UnixNano(), b.RequestID); err != nil {
		return fmt.Errorf("store code of %s: %w", b.RequestID, err)
	}
	visible := now
	if b.CardNumber == CardSlowSMS {
		visible = now.Add(smsDelay)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO sms (phone, otp, sent_at, visible_at) VALUES (?, ?, ?, ?)`,
		b.Phone, b.OTP, now.UnixNano(), visible.UnixNano()); err != nil {
		return fmt.Errorf("send code of %s: %w", b.RequestID, err)
	}
	return nil
}

func (s *Server) handleStartBinding(w http.ResponseWriter, r *http.Request) {
	var req bindRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := firstError(validateReference("request_id", req.RequestID), validateCardNumber(req.CardNumber),
		required("name", req.Name), required("id_number", req.IDNumber), required("phone", req.Phone)); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.identityLog(req.RequestID, req.CardNumber)
	ctx := context.WithoutCancel(r.Context())
	var answer BindingAnswer
	executed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		executed = false
		b, found, err := getBinding(ctx, tx, req.RequestID)
		if err != nil {
			return err
		}
		if found {
			// A repeat never sends another code: that is what resend is for.
			answer, err = b.answer(ctx, tx)
			return err
		}
		res, err := check(ctx, tx, identity{req.CardNumber, req.Name, req.IDNumber, req.Phone})
		if err != nil {
			return err
		}
		now := s.now().UTC()
		b = bindingRow{RequestID: req.RequestID, CardNumber: req.CardNumber, Phone: req.Phone, Status: BindingOTPSent,
			Mismatched: res.mismatched}
		if !res.match {
			b.Status, b.Reason = BindingFailed, ReasonVerificationFailed
			if res.reason != "" {
				b.Reason = res.reason
			}
		}
		mismatched, _ := json.Marshal(b.Mismatched)
		if _, err := tx.ExecContext(ctx, `INSERT INTO card_bindings (request_id, card_number, phone, status, reason, mismatched, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, b.RequestID, b.CardNumber, b.Phone, b.Status, b.Reason, string(mismatched), now.UnixNano()); err != nil {
			return fmt.Errorf("store binding %s: %w", b.RequestID, err)
		}
		if b.Status == BindingOTPSent {
			if err := sendOTP(ctx, tx, &b, now); err != nil {
				return err
			}
		}
		if err := insertExecution(ctx, tx, req.RequestID, kindCardBinding, now); err != nil {
			return err
		}
		executed = true
		answer, err = b.answer(ctx, tx)
		return err
	})
	if err != nil {
		writeInternal(w, log, fmt.Errorf("bind %s: %w", req.RequestID, err))
		return
	}
	raw, _ := json.Marshal(answer)
	s.answerIdentity(w, r, log.WithField("status", answer.Status), executed && hangsAfterExecuting(req.CardNumber), executed, raw)
}

// bindingTx runs fn on the binding of the request's {request_id} in one
// transaction and answers what fn returns; an unknown binding answers 404.
func (s *Server) bindingTx(w http.ResponseWriter, r *http.Request, what string,
	fn func(ctx context.Context, tx *sql.Tx, b *bindingRow, now time.Time) (BindingAnswer, error)) {
	requestID := r.PathValue("request_id")
	log := s.log.WithFields(logrus.Fields{"request_id": requestID, "op": what})
	if err := validateReference("request_id", requestID); err != nil {
		writeInvalid(w, err)
		return
	}
	ctx := context.WithoutCancel(r.Context())
	var answer BindingAnswer
	found := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var b bindingRow
		var err error
		b, found, err = getBinding(ctx, tx, requestID)
		if err != nil || !found {
			return err
		}
		answer, err = fn(ctx, tx, &b, s.now().UTC())
		return err
	})
	switch {
	case err != nil:
		writeInternal(w, log, fmt.Errorf("%s binding %s: %w", what, requestID, err))
	case !found:
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no card binding with this request_id")
	default:
		log.WithField("status", answer.Status).Info("card binding " + what)
		writeJSON(w, http.StatusOK, answer)
	}
}

func (s *Server) handleGetBinding(w http.ResponseWriter, r *http.Request) {
	s.bindingTx(w, r, "queried", func(ctx context.Context, tx *sql.Tx, b *bindingRow, _ time.Time) (BindingAnswer, error) {
		return b.answer(ctx, tx)
	})
}

// confirmRequest is POST /v1/card_bindings/{request_id}/confirm.
type confirmRequest struct {
	OTP string `json:"otp"`
}

func (s *Server) handleConfirmBinding(w http.ResponseWriter, r *http.Request) {
	var req confirmRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := required("otp", req.OTP); err != nil {
		writeInvalid(w, err)
		return
	}
	s.bindingTx(w, r, "confirmed", func(ctx context.Context, tx *sql.Tx, b *bindingRow, now time.Time) (BindingAnswer, error) {
		// Only a binding waiting for its code changes; any other answers its
		// state, so a repeated right confirm answers the same agreement.
		if b.Status != BindingOTPSent {
			return b.answer(ctx, tx)
		}
		only := func(status string) BindingAnswer { return BindingAnswer{RequestID: b.RequestID, Status: status} }
		switch {
		case b.OTPAttempts >= otpMaxTries:
			// Three wrong codes: this one, right or not, is refused until a resend.
			return only(OTPTriesExceeded), nil
		case b.OTPSentAt == nil || now.Sub(*b.OTPSentAt) > otpTTL:
			return only(OTPExpired), nil
		case req.OTP != b.OTP:
			if _, err := tx.ExecContext(ctx, `UPDATE card_bindings SET otp_attempts = otp_attempts + 1 WHERE request_id = ?`,
				b.RequestID); err != nil {
				return BindingAnswer{}, fmt.Errorf("count wrong code: %w", err)
			}
			return only(OTPIncorrect), nil
		}
		b.Status, b.AgreementNo = BindingActive, newID(AgreementPrefix)
		if _, err := tx.ExecContext(ctx, `UPDATE card_bindings SET status = ?, agreement_no = ? WHERE request_id = ?`,
			b.Status, b.AgreementNo, b.RequestID); err != nil {
			return BindingAnswer{}, fmt.Errorf("activate binding: %w", err)
		}
		return b.answer(ctx, tx)
	})
}

// handleResendBinding sends a fresh code to a binding waiting for one; the
// old code stops working and the tries start again.
func (s *Server) handleResendBinding(w http.ResponseWriter, r *http.Request) {
	s.bindingTx(w, r, "resent", func(ctx context.Context, tx *sql.Tx, b *bindingRow, now time.Time) (BindingAnswer, error) {
		if b.Status == BindingOTPSent {
			if err := sendOTP(ctx, tx, b, now); err != nil {
				return BindingAnswer{}, err
			}
		}
		return b.answer(ctx, tx)
	})
}

// handleRemoveBinding ends a binding for good: its agreement stops working.
// Removing it again answers removed.
func (s *Server) handleRemoveBinding(w http.ResponseWriter, r *http.Request) {
	s.bindingTx(w, r, "removed", func(ctx context.Context, tx *sql.Tx, b *bindingRow, now time.Time) (BindingAnswer, error) {
		if b.Status == BindingOTPSent || b.Status == BindingActive {
			b.Status = BindingRemoved
			if _, err := tx.ExecContext(ctx, `UPDATE card_bindings SET status = ?, removed_at = ? WHERE request_id = ?`,
				b.Status, now.UnixNano(), b.RequestID); err != nil {
				return BindingAnswer{}, fmt.Errorf("remove binding: %w", err)
			}
		}
		return b.answer(ctx, tx)
	})
}

// agreementActive reports whether agreementNo names an active binding: an
// instrument the bank charges and pays out to.
func agreementActive(ctx context.Context, q querier, agreementNo string) (bool, error) {
	var status string
	err := q.QueryRowContext(ctx, `SELECT status FROM card_bindings WHERE agreement_no = ?`, agreementNo).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read agreement: %w", err)
	}
	return status == BindingActive, nil
}

// isAgreement reports whether a charge token or payout destination is an
// agreement number.
func isAgreement(instrument string) bool { return strings.HasPrefix(instrument, AgreementPrefix) }

// agreementOutcome decides a transfer to or from an agreement inside the
// transaction that records it: active moves the money, anything else fails
// with failure.
func agreementOutcome(agreementNo, failure string) func(context.Context, *sql.Tx) (outcome, error) {
	return func(ctx context.Context, tx *sql.Tx) (outcome, error) {
		ok, err := agreementActive(ctx, tx, agreementNo)
		if err != nil {
			return outcome{}, err
		}
		if ok {
			return succeeded(), nil
		}
		return failed(failure), nil
	}
}

// smsAnswer is GET /sim/sms.
type smsAnswer struct {
	Phone  string    `json:"phone"`
	OTP    string    `json:"otp"`
	SentAt time.Time `json:"sent_at"`
}

// handleSMS answers the last code that arrived at a phone.
func (s *Server) handleSMS(w http.ResponseWriter, r *http.Request) {
	phone := r.URL.Query().Get("phone")
	if phone == "" {
		writeInvalid(w, errors.New("query parameter phone is required"))
		return
	}
	a := smsAnswer{Phone: phone}
	var sentAt int64
	err := s.db.QueryRowContext(r.Context(), `SELECT otp, sent_at FROM sms WHERE phone = ? AND visible_at <= ?
		ORDER BY id DESC LIMIT 1`, phone, s.now().UnixNano()).Scan(&a.OTP, &sentAt)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no code has arrived at this phone")
	case err != nil:
		writeInternal(w, s.log, fmt.Errorf("read sms: %w", err))
	default:
		a.SentAt = fromNanos(sentAt).UTC()
		writeJSON(w, http.StatusOK, a)
	}
}
