package banksim

import (
	"context"
	"database/sql"
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
	channelRequest
	Token string `json:"token"`
}

func (c *chargeRequest) validate() error {
	return c.channelRequest.validate(required("token", c.Token))
}

func (c *chargeRequest) plan(e *execRequest) logrus.Fields {
	if isAgreement(c.Token) {
		// An agreement of a card binding: charged while it is active.
		e.decide = agreementOutcome(c.Token, FailureCardDeclined)
		return logrus.Fields{"token": "agreement"}
	}
	out := chargeOutcome(c.Token)
	e.flaky = c.Token == TokenFlaky
	e.decide = func(context.Context, *sql.Tx) (outcome, error) { return out, nil }
	return logrus.Fields{"token": knownName(c.Token, knownTokens...)}
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
	s.serveTransfer(w, r, KindCharge, &chargeRequest{})
}
