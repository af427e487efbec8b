package banksim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Test cards of the identity services (see seedCardholders for their owners).
const (
	CardDebit          = "6222021000000000017" // 张三, debit, every element matches
	CardCredit         = "6222021000000000025" // 李四, credit, every element matches
	CardUnsupported    = "6222021000000000033" // a card the bank does not verify or bind
	CardTimeoutSuccess = "6222021000000000041" // 张三 again: executes, then the answer never comes in time
	CardSlowSMS        = "6228480000000000059" // 王五: its SMS codes arrive smsDelay late
)

// Bank names of the seeded cards.
const (
	BankICBC = "Industrial and Commercial Bank of China"
	BankABC  = "Agricultural Bank of China"
)

// Card types.
const (
	CardTypeDebit  = "debit"
	CardTypeCredit = "credit"
)

// Verification results and reasons.
const (
	VerifyMatch    = "match"
	VerifyMismatch = "mismatch"

	ReasonUnsupportedCard    = "unsupported_card"
	ReasonVerificationFailed = "verification_failed"
)

// smsDelay is how late CardSlowSMS's codes become visible at GET /sim/sms.
const smsDelay = 2 * time.Second

// Cardholder is an entry of the bank's cardholder directory.
type Cardholder struct {
	CardNumber string `json:"card_number"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	Phone      string `json:"phone"`
	Bank       string `json:"bank"`
	CardType   string `json:"card_type"`
}

// seededCardholders are in the directory from the start. CardUnsupported is
// not: the bank has no holder to compare it with.
var seededCardholders = []Cardholder{
	{CardDebit, "张三", "110105199003070017", "13800138000", BankICBC, CardTypeDebit},
	{CardCredit, "李四", "310115198512240024", "13900139000", BankICBC, CardTypeCredit},
	{CardTimeoutSuccess, "张三", "110105199003070017", "13800138000", BankICBC, CardTypeDebit},
	{CardSlowSMS, "王五", "440304199208150038", "13700137000", BankABC, CardTypeDebit},
}

// seedCardholders puts the seeded cardholders into the directory unless a
// test or an operator already replaced them.
func (s *Server) seedCardholders(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range seededCardholders {
			if err := upsertCardholder(ctx, tx, c, false); err != nil {
				return err
			}
		}
		return nil
	})
}

func upsertCardholder(ctx context.Context, tx *sql.Tx, c Cardholder, replace bool) error {
	verb := "INSERT OR IGNORE"
	if replace {
		verb = "INSERT OR REPLACE"
	}
	_, err := tx.ExecContext(ctx, verb+` INTO cardholders (card_number, name, id_number, phone, bank, card_type)
		VALUES (?, ?, ?, ?, ?, ?)`, c.CardNumber, c.Name, c.IDNumber, c.Phone, c.Bank, c.CardType)
	if err != nil {
		return fmt.Errorf("store cardholder: %w", err)
	}
	return nil
}

func getCardholder(ctx context.Context, q querier, card string) (Cardholder, bool, error) {
	c := Cardholder{CardNumber: card}
	err := q.QueryRowContext(ctx, `SELECT name, id_number, phone, bank, card_type FROM cardholders WHERE card_number = ?`, card).
		Scan(&c.Name, &c.IDNumber, &c.Phone, &c.Bank, &c.CardType)
	if errors.Is(err, sql.ErrNoRows) {
		return Cardholder{}, false, nil
	}
	if err != nil {
		return Cardholder{}, false, fmt.Errorf("read cardholder: %w", err)
	}
	return c, true, nil
}

// bankOf names the issuer of a card added without a bank, by its prefix.
func bankOf(card string) string {
	if strings.HasPrefix(card, "622848") {
		return BankABC
	}
	return BankICBC
}

// validateCardNumber accepts 12 to 19 digits.
func validateCardNumber(card string) error {
	if len(card) < 12 || len(card) > 19 {
		return errors.New("card_number must be 12 to 19 digits")
	}
	for _, c := range card {
		if c < '0' || c > '9' {
			return errors.New("card_number must be 12 to 19 digits")
		}
	}
	return nil
}

// handleAddCardholder is POST /sim/cardholders: it adds (or replaces) a
// cardholder of the directory.
func (s *Server) handleAddCardholder(w http.ResponseWriter, r *http.Request) {
	var c Cardholder
	if err := decodeJSON(w, r, &c); err != nil {
		writeInvalid(w, err)
		return
	}
	if c.Bank == "" {
		c.Bank = bankOf(c.CardNumber)
	}
	if c.CardType == "" {
		c.CardType = CardTypeDebit
	}
	var typeErr error
	if c.CardType != CardTypeDebit && c.CardType != CardTypeCredit {
		typeErr = errors.New("card_type must be debit or credit")
	}
	if err := firstError(validateCardNumber(c.CardNumber), required("name", c.Name), required("id_number", c.IDNumber),
		required("phone", c.Phone), typeErr); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithField("card_last4", last4(c.CardNumber))
	ctx := r.Context()
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return upsertCardholder(ctx, tx, c, true) }); err != nil {
		writeInternal(w, log, err)
		return
	}
	log.Info("cardholder added")
	writeJSON(w, http.StatusCreated, c)
}

// CardInfo is what the bank tells about a card: never its number.
type CardInfo struct {
	Bank     string `json:"bank,omitempty"`
	CardType string `json:"card_type,omitempty"`
	Last4    string `json:"last4"`
}

func last4(card string) string {
	if len(card) <= 4 {
		return card
	}
	return card[len(card)-4:]
}

// identity is the elements of a person a request asks the bank to compare;
// an empty IDNumber or Phone is not compared.
type identity struct {
	CardNumber string
	Name       string
	IDNumber   string
	Phone      string
}

// checkResult is the comparison of an identity with the directory.
type checkResult struct {
	match      bool
	reason     string // ReasonUnsupportedCard, or "" for a plain mismatch
	mismatched []string
	card       CardInfo
}

// check compares the given elements of id with the directory's holder of the
// card, in the order of the request's fields.
func check(ctx context.Context, q querier, id identity) (checkResult, error) {
	res := checkResult{mismatched: []string{}, card: CardInfo{Last4: last4(id.CardNumber)}}
	if id.CardNumber == CardUnsupported {
		res.reason = ReasonUnsupportedCard
		res.mismatched = []string{"card_number"}
		return res, nil
	}
	holder, found, err := getCardholder(ctx, q, id.CardNumber)
	if err != nil {
		return checkResult{}, err
	}
	if !found {
		res.mismatched = []string{"card_number"}
		return res, nil
	}
	res.card = CardInfo{Bank: holder.Bank, CardType: holder.CardType, Last4: last4(holder.CardNumber)}
	if id.Name != holder.Name {
		res.mismatched = append(res.mismatched, "name")
	}
	// The check digit X of an ID number is written either way.
	if id.IDNumber != "" && !strings.EqualFold(id.IDNumber, holder.IDNumber) {
		res.mismatched = append(res.mismatched, "id_number")
	}
	if id.Phone != "" && id.Phone != holder.Phone {
		res.mismatched = append(res.mismatched, "phone")
	}
	res.match = len(res.mismatched) == 0
	return res, nil
}

// hangsAfterExecuting reports whether the bank holds the first answer about
// card until the client gives up.
func hangsAfterExecuting(card string) bool { return card == CardTimeoutSuccess }

// verifyRequest is POST /v1/verifications.
type verifyRequest struct {
	RequestID  string `json:"request_id"`
	CardNumber string `json:"card_number"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	Phone      string `json:"phone"`
}

// VerifyAnswer is the answer of POST /v1/verifications.
type VerifyAnswer struct {
	RequestID        string   `json:"request_id"`
	Result           string   `json:"result"`
	MismatchedFields []string `json:"mismatched_fields"`
	Reason           string   `json:"reason,omitempty"`
	Card             CardInfo `json:"card"`
}

// identityLog names a request in logs without any personal data.
func (s *Server) identityLog(requestID, card string) *logrus.Entry {
	return s.log.WithFields(logrus.Fields{"request_id": requestID, "card_last4": last4(card)})
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	var req verifyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := firstError(validateReference("request_id", req.RequestID), validateCardNumber(req.CardNumber),
		required("name", req.Name)); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.identityLog(req.RequestID, req.CardNumber)
	// As with transfers, the verification runs even if the client leaves.
	ctx := context.WithoutCancel(r.Context())
	var answer []byte
	executed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		answer, executed = nil, false
		err := tx.QueryRowContext(ctx, `SELECT answer FROM verifications WHERE request_id = ?`, req.RequestID).Scan(&answer)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read verification: %w", err)
		}
		res, err := check(ctx, tx, identity{req.CardNumber, req.Name, req.IDNumber, req.Phone})
		if err != nil {
			return err
		}
		a := VerifyAnswer{RequestID: req.RequestID, Result: VerifyMismatch, MismatchedFields: res.mismatched,
			Reason: res.reason, Card: res.card}
		if res.match {
			a.Result = VerifyMatch
		}
		if answer, err = json.Marshal(a); err != nil {
			return fmt.Errorf("encode verification: %w", err)
		}
		now := s.now().UTC()
		if _, err := tx.ExecContext(ctx, `INSERT INTO verifications (request_id, answer, created_at) VALUES (?, ?, ?)`,
			req.RequestID, answer, now.UnixNano()); err != nil {
			return fmt.Errorf("store verification: %w", err)
		}
		executed = true
		return insertExecution(ctx, tx, req.RequestID, kindVerification, now)
	})
	if err != nil {
		writeInternal(w, log, fmt.Errorf("verify %s: %w", req.RequestID, err))
		return
	}
	s.answerIdentity(w, r, log, executed && hangsAfterExecuting(req.CardNumber), executed, answer)
}

// Kinds of the identity services in /sim/executions.
const (
	kindVerification Kind = "verification"
	kindCardBinding  Kind = "card_binding"
	kindCreditQuery  Kind = "credit_query"
)

// answerIdentity writes a stored answer, or, for the first request of a card
// that times out, holds it and answers 504 as respond does for transfers.
func (s *Server) answerIdentity(w http.ResponseWriter, r *http.Request, log *logrus.Entry, hang, executed bool, answer []byte) {
	if executed {
		log.Info("executed identity request")
	} else {
		log.Debug("answered repeated request id")
	}
	if hang {
		s.hold(r.Context())
		log.Info("released the held answer of an executed identity request")
		writeError(w, http.StatusGatewayTimeout, ErrCodeTimeout,
			"the bank did not answer in time; ask again with the same request_id to learn the outcome")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(append(answer, '\n'))
}
