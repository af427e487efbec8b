package merchant

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Yield is the balance yield service (starter.Yield).
type Yield interface {
	// SetOptIn turns a wallet's yield on or off; starter.ErrNotFound,
	// starter.ErrYieldCurrency.
	SetOptIn(ctx context.Context, merchantID, accountID string, enabled bool) (starter.WalletYield, error)
	// Wallet answers a wallet's yield; starter.ErrNotFound.
	Wallet(ctx context.Context, merchantID, accountID string) (starter.WalletYield, error)
}

type setYieldRequest struct {
	Enabled *bool `json:"enabled"`
}

// yieldDayJSON is one day of a wallet's yield: its balance at the day's end and the
// income credited for it (minor units).
type yieldDayJSON struct {
	Date    string `json:"date"`
	Balance int64  `json:"balance"`
	Income  int64  `json:"income"`
}

// walletYieldJSON is a wallet's yield. carried_remainder is the fraction of a minor
// unit earned but not yet credited, as an exact decimal string of minor units with
// ten fractional digits ("0.4123456789"): never a float.
type walletYieldJSON struct {
	Object           string          `json:"object"`
	AccountID        string          `json:"account_id"`
	Enabled          bool            `json:"enabled"`
	Currency         models.Currency `json:"currency"`
	TotalCredited    int64           `json:"total_credited"`
	CarriedRemainder string          `json:"carried_remainder"`
	Days             []yieldDayJSON  `json:"days"`
}

func walletYieldView(accountID string, y starter.WalletYield) walletYieldJSON {
	days := make([]yieldDayJSON, len(y.Days))
	for i, d := range y.Days {
		days[i] = yieldDayJSON{Date: d.Date, Balance: d.Balance, Income: d.Income}
	}
	return walletYieldJSON{
		Object: "account_yield", AccountID: accountID, Enabled: y.Enabled, Currency: models.YieldCurrency,
		TotalCredited: y.TotalCredited, CarriedRemainder: models.FormatYieldCarry(y.Carry), Days: days,
	}
}

// setYield turns a wallet's balance yield on or off.
func (h *Handler) setYield(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixAccount, "account")
	if !ok {
		return
	}
	var req setYieldRequest
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	if req.Enabled == nil {
		problem.Write(c, problem.Invalid("field \"enabled\" is required"))
		return
	}
	y, err := h.Yield.SetOptIn(c.Request.Context(), middleware.MerchantID(c), id, *req.Enabled)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such account"))
	case errors.Is(err, starter.ErrYieldCurrency):
		problem.Write(c, problem.Unprocessable(problem.CodeUnsupportedCurrency, "only CNY wallets earn the balance yield"))
	case err != nil:
		h.internal(c, "set yield", err)
	default:
		writeJSON(c, http.StatusOK, walletYieldView(id, y))
	}
}

// getYield answers a wallet's balance yield.
func (h *Handler) getYield(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixAccount, "account")
	if !ok {
		return
	}
	if y, ok := loadObject(h, c, models.PrefixAccount, "account", h.Yield.Wallet); ok {
		writeJSON(c, http.StatusOK, walletYieldView(id, y))
	}
}
