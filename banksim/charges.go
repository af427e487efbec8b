package banksim

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/sirupsen/logrus"
)

// Charge test tokens.
const (
	TokenSuccess           = "tok_success"
	TokenDecline           = "tok_decline"
	TokenInsufficientFunds = "tok_insufficient_funds"
	TokenProcessing        = "tok_processing"
	TokenTimeoutSuccess    = "tok_timeout_success"
	TokenFlaky             = "tok_flaky"
)

var knownTokens = []string{TokenSuccess, TokenDecline, TokenInsufficientFunds, TokenProcessing, TokenTimeoutSuccess, TokenFlaky}

// chargeRequest is POST /v1/charges.
type chargeRequest struct {
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Token       string `json:"token"`
	CallbackURL string `json:"callback_url"`
}

func (c chargeRequest) validate() error {
	if err := validateReference("reference", c.Reference); err != nil {
		return err
	}
	if err := validateAmount(c.Amount); err != nil {
		return err
	}
	if err := validateCurrency(c.Currency); err != nil {
		return err
	}
	if c.Token == "" {
		return errors.New("token is required")
	}
	return validateCallbackURL(c.CallbackURL)
}

// chargeOutcome maps a card token to what the bank does with it; an unknown
// token is a card the bank declines.
func chargeOutcome(token string) outcome {
	switch token {
	case TokenSuccess, TokenFlaky:
		return succeeded()
	case TokenInsufficientFunds:
		return failed(FailureInsufficientFunds)
	case TokenProcessing:
		return processing()
	case TokenTimeoutSuccess:
		return succeededThenHang()
	default:
		return failed(FailureCardDeclined)
	}
}

func (s *Server) handleCharge(w http.ResponseWriter, r *http.Request) {
	var req chargeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := req.validate(); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithFields(logrus.Fields{
		"reference": req.Reference, "kind": KindCharge, "amount": req.Amount, "currency": req.Currency,
		"token": knownName(req.Token, knownTokens...),
	})
	out := chargeOutcome(req.Token)
	// The request executes even if the client goes away meanwhile, as at a
	// real bank: that is what makes a timeout's outcome unknown.
	res, err := s.execute(context.WithoutCancel(r.Context()), execRequest{
		Reference:   req.Reference,
		Kind:        KindCharge,
		Amount:      req.Amount,
		Currency:    req.Currency,
		CallbackURL: req.CallbackURL,
		flaky:       req.Token == TokenFlaky,
		decide:      func(context.Context, *sql.Tx) (outcome, error) { return out, nil },
	})
	s.respond(w, r, log, res, err)
}
