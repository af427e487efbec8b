package banksim

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/sirupsen/logrus"
)

// Payout test destinations (bank_account).
const (
	AccountSuccess        = "ba_success"
	AccountClosed         = "ba_closed"
	AccountProcessing     = "ba_processing"
	AccountTimeoutSuccess = "ba_timeout_success"
)

var knownAccounts = []string{AccountSuccess, AccountClosed, AccountProcessing, AccountTimeoutSuccess}

// payoutRequest is POST /v1/payouts.
type payoutRequest struct {
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	BankAccount string `json:"bank_account"`
	CallbackURL string `json:"callback_url"`
}

func (p payoutRequest) validate() error {
	if err := validateReference("reference", p.Reference); err != nil {
		return err
	}
	if err := validateAmount(p.Amount); err != nil {
		return err
	}
	if err := validateCurrency(p.Currency); err != nil {
		return err
	}
	if p.BankAccount == "" {
		return errors.New("bank_account is required")
	}
	return validateCallbackURL(p.CallbackURL)
}

// payoutOutcome maps a destination to what the bank does; any account that
// is not a test name receives the money.
func payoutOutcome(account string) outcome {
	switch account {
	case AccountClosed:
		return failed(FailureAccountClosed)
	case AccountProcessing:
		return processing()
	case AccountTimeoutSuccess:
		return succeededThenHang()
	default:
		return succeeded()
	}
}

func (s *Server) handlePayout(w http.ResponseWriter, r *http.Request) {
	var req payoutRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := req.validate(); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithFields(logrus.Fields{
		"reference": req.Reference, "kind": KindPayout, "amount": req.Amount, "currency": req.Currency,
		"destination": knownName(req.BankAccount, knownAccounts...),
	})
	out := payoutOutcome(req.BankAccount)
	res, err := s.execute(context.WithoutCancel(r.Context()), execRequest{
		Reference:   req.Reference,
		Kind:        KindPayout,
		Amount:      req.Amount,
		Currency:    req.Currency,
		CallbackURL: req.CallbackURL,
		decide:      func(context.Context, *sql.Tx) (outcome, error) { return out, nil },
	})
	s.respond(w, r, log, res, err)
}
