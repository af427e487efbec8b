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

// Fund is the fund marketplace (starter.Fund).
type Fund interface {
	Products(ctx context.Context) ([]models.Product, error)
	SetRiskProfile(ctx context.Context, merchantID, accountID string, level int) (models.RiskProfile, error)
	CreateFundOrder(ctx context.Context, req starter.NewFundOrder) (starter.Created[models.FundOrder], error)
	Subscription(ctx context.Context, merchantID, id string) (models.FundOrder, error)
	Redemption(ctx context.Context, merchantID, id string) (models.FundOrder, error)
	Positions(ctx context.Context, merchantID, accountID string) ([]models.Position, error)
}

// Problem codes of the fund marketplace.
const (
	codeRiskMismatch       = "risk_mismatch"
	codeInsufficientShares = "insufficient_shares"
	codeInsufficientFunds  = "insufficient_funds"
	codeInvalidProduct     = "invalid_product"
	codeInvalidShares      = "invalid_shares"
)

func (h *Handler) registerFund(g *gin.RouterGroup) {
	g.GET("/products", h.listProducts)
	g.PUT("/accounts/:id/risk_profile", h.setRiskProfile)
	g.GET("/accounts/:id/positions", h.listPositions)
	g.POST("/subscriptions", func(c *gin.Context) { h.createFundOrder(c, models.FundSubscription) })
	g.GET("/subscriptions/:id", func(c *gin.Context) {
		getObject(h, c, models.PrefixSubscription, "subscription", h.Fund.Subscription)
	})
	g.POST("/redemptions", func(c *gin.Context) { h.createFundOrder(c, models.FundRedemption) })
	g.GET("/redemptions/:id", func(c *gin.Context) {
		getObject(h, c, models.PrefixRedemption, "redemption", h.Fund.Redemption)
	})
}

// fundFail answers the fund marketplace's refusals, and the rest as h.fail does.
func (h *Handler) fundFail(c *gin.Context, msg string, err error) {
	switch {
	case errors.Is(err, starter.ErrFundUnavailable):
		problem.Write(c, problem.Unavailable("the fund company did not answer: nothing was stored; try again"))
	case errors.Is(err, starter.ErrUnknownProduct):
		problem.Write(c, problem.Unprocessable(codeInvalidProduct, "product_id must be one of GET /v1/products"))
	case errors.Is(err, starter.ErrNoRiskProfile):
		problem.Write(c, problem.Unprocessable(codeRiskMismatch, "the wallet has no risk profile: assess its owner first (PUT /v1/accounts/{id}/risk_profile)"))
	case errors.Is(err, starter.ErrRiskMismatch):
		problem.Write(c, problem.Unprocessable(codeRiskMismatch, "the product's risk level is above the wallet's risk profile"))
	case errors.Is(err, starter.ErrBelowMinimum):
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidAmount, "amount is under the product's min_amount"))
	case errors.Is(err, starter.ErrInsufficientFunds):
		problem.Write(c, problem.Unprocessable(codeInsufficientFunds, "the wallet's available balance does not cover the amount"))
	case errors.Is(err, starter.ErrInsufficientShares):
		problem.Write(c, problem.Unprocessable(codeInsufficientShares, "shares is more than the wallet's free shares of the product (GET /v1/accounts/{id}/positions)"))
	default:
		h.fail(c, msg, err)
	}
}

func (h *Handler) listProducts(c *gin.Context) {
	ps, err := h.Fund.Products(c.Request.Context())
	if err != nil {
		h.fundFail(c, "list products", err)
		return
	}
	writeJSON(c, http.StatusOK, resource.List[models.Product]{Data: ps})
}

type riskProfileRequest struct {
	Level *int `json:"level"`
}

func (h *Handler) setRiskProfile(c *gin.Context) {
	accountID, ok := h.account(c)
	if !ok {
		return
	}
	var req riskProfileRequest
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	if req.Level == nil || *req.Level < models.MinRiskLevel || *req.Level > models.MaxRiskLevel {
		problem.Write(c, problem.Invalid("level must be an integer from 1 (lowest risk) to 5"))
		return
	}
	p, err := h.Fund.SetRiskProfile(c.Request.Context(), middleware.MerchantID(c), accountID, *req.Level)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such account"))
	case err != nil:
		h.internal(c, "set risk profile", err)
	default:
		writeJSON(c, http.StatusOK, p)
	}
}

func (h *Handler) listPositions(c *gin.Context) {
	accountID, ok := h.account(c)
	if !ok {
		return
	}
	ps, err := h.Fund.Positions(c.Request.Context(), middleware.MerchantID(c), accountID)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such account"))
	case err != nil:
		h.fundFail(c, "list positions", err)
	default:
		writeJSON(c, http.StatusOK, resource.List[models.Position]{Data: ps})
	}
}

// fundOrderRequest is a subscription (amount) or a redemption (shares).
type fundOrderRequest struct {
	AccountID *string `json:"account_id"`
	ProductID *string `json:"product_id"`
	Amount    *int64  `json:"amount"`
	Shares    *int64  `json:"shares"`
	NotifyURL *string `json:"notify_url"`
}

func newFundOrder(kind models.FundOrderKind) func(fundOrderRequest, starter.Idempotent) (starter.NewFundOrder, *problem.Problem) {
	return func(req fundOrderRequest, idem starter.Idempotent) (starter.NewFundOrder, *problem.Problem) {
		in := starter.NewFundOrder{Idempotent: idem, Kind: kind}
		if req.AccountID == nil || !models.ValidID(models.PrefixAccount, *req.AccountID) {
			return in, new(problem.Unprocessable(problem.CodeInvalidAccount, "account_id must be one of your wallets"))
		}
		if req.ProductID == nil || !models.ValidProductID(*req.ProductID) {
			return in, new(problem.Unprocessable(codeInvalidProduct, "product_id must be one of GET /v1/products"))
		}
		in.AccountID, in.ProductID = *req.AccountID, *req.ProductID
		if kind == models.FundSubscription {
			if req.Shares != nil {
				return in, new(problem.Invalid("a subscription gives amount (minor units), not shares"))
			}
			if req.Amount == nil || models.ValidateAmount(*req.Amount) != nil {
				return in, new(problem.Unprocessable(problem.CodeInvalidAmount, "amount must be an integer of minor units, 1 to 10^15"))
			}
			in.Amount = *req.Amount
		} else {
			if req.Amount != nil {
				return in, new(problem.Invalid("a redemption gives shares (hundredths of a share), not amount"))
			}
			if req.Shares == nil || models.ValidateAmount(*req.Shares) != nil {
				return in, new(problem.Unprocessable(codeInvalidShares, "shares must be an integer of hundredths of a share (100050 = 1000.50), at least 1"))
			}
			in.Shares = *req.Shares
		}
		var p *problem.Problem
		in.NotifyURL, p = notifyURL(req.NotifyURL)
		return in, p
	}
}

func (h *Handler) createFundOrder(c *gin.Context, kind models.FundOrderKind) {
	idem, p := idempotent(c)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	var req fundOrderRequest
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	in, p := newFundOrder(kind)(req, idem)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	out, err := h.Fund.CreateFundOrder(c.Request.Context(), in)
	if err != nil {
		h.fundFail(c, "create "+string(kind), err)
		return
	}
	writeAnswered(c, out)
}
