package callbacks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/models"
)

// BanksimSignatureHeader carries a banksim callback's signature: t=UNIX,v1=HEX, HEX
// the HMAC-SHA256 of t + "." + body with the banksim callback secret.
const BanksimSignatureHeader = "X-Banksim-Signature"

// defaultBanksimTolerance is how far a banksim callback's timestamp may be from now.
const defaultBanksimTolerance = 5 * time.Minute

// Banksim reads the bank simulator's callbacks (the banksim channel).
type Banksim struct {
	// Secret is the banksim callback secret; empty verifies nothing.
	Secret string
	// Tolerance is how far the signature's timestamp may be from now; 0 is five
	// minutes.
	Tolerance time.Duration
}

// banksimBody is the part of the simulator's callback payflow reads.
type banksimBody struct {
	Reference   string `json:"reference"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
	EventID     string `json:"event_id"`
}

// Channel implements Verifier.
func (Banksim) Channel() string { return sim.Name }

// Verify implements Verifier.
func (b Banksim) Verify(h http.Header, body []byte, now time.Time) (models.BankCallback, error) {
	if b.Secret == "" {
		return models.BankCallback{}, fmt.Errorf("%w: no banksim callback secret", ErrSignature)
	}
	tolerance := b.Tolerance
	if tolerance <= 0 {
		tolerance = defaultBanksimTolerance
	}
	if err := signing.VerifyWebhook(b.Secret, h.Get(BanksimSignatureHeader), body, now, tolerance); err != nil {
		return models.BankCallback{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	var cb banksimBody
	if err := json.Unmarshal(body, &cb); err != nil {
		return models.BankCallback{}, fmt.Errorf("%w: not a JSON transfer", ErrUnreadable)
	}
	return models.BankCallback{
		Reference: cb.Reference, Channel: sim.Name, Status: models.BankStatus(cb.Status),
		FailureCode: models.FailureCode(cb.FailureCode), EventID: cb.EventID,
	}, nil
}
