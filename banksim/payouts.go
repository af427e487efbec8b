package banksim

import (
	"context"
	"database/sql"
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
	channelRequest
	BankAccount string `json:"bank_account"`
}

func (p *payoutRequest) validate() error {
	return p.channelRequest.validate(required("bank_account", p.BankAccount))
}

func (p *payoutRequest) plan(e *execRequest) logrus.Fields {
	if isAgreement(p.BankAccount) {
		// An agreement of a card binding: paid out to while it is active.
		e.decide = agreementOutcome(p.BankAccount, FailureAccountClosed)
		return logrus.Fields{"destination": "agreement"}
	}
	out := payoutOutcome(p.BankAccount)
	e.decide = func(context.Context, *sql.Tx) (outcome, error) { return out, nil }
	return logrus.Fields{"destination": knownName(p.BankAccount, knownAccounts...)}
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
	s.serveTransfer(w, r, KindPayout, &payoutRequest{})
}
