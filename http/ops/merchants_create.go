package ops

import (
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
)

// maxFeeBps is a fee of 100 %.
const maxFeeBps = 10_000

// createMerchantRequest is the body of POST /v1/ops/merchants.
type createMerchantRequest struct {
	Name            *string `json:"name"`
	ReviewThreshold *int64  `json:"review_threshold"`
	FeeBps          *int64  `json:"fee_bps"`
	DefaultCurrency *string `json:"default_currency"`
	NotifyURL       *string `json:"notify_url"`
}

func validateMerchant(req createMerchantRequest) (models.Merchant, *problem.Problem) {
	fail := func(p problem.Problem) (models.Merchant, *problem.Problem) { return models.Merchant{}, &p }
	if req.Name == nil {
		return fail(problem.Invalid("field \"name\" is required"))
	}
	if !validName(*req.Name) {
		return fail(problem.Invalid("name must be 1-255 bytes of UTF-8, not only spaces"))
	}
	m := models.Merchant{
		Name: *req.Name, DefaultCurrency: "CNY", Status: models.MerchantActive,
	}
	if req.ReviewThreshold != nil {
		if *req.ReviewThreshold < 0 || *req.ReviewThreshold > models.MaxAmount {
			return fail(problem.Unprocessable(problem.CodeInvalidAmount, fmt.Sprintf("review_threshold must be from 0 (never review) to %d minor units", models.MaxAmount)))
		}
		m.ReviewThreshold = *req.ReviewThreshold
	}
	if req.FeeBps != nil {
		if *req.FeeBps < 0 || *req.FeeBps > maxFeeBps {
			return fail(problem.Unprocessable(problem.CodeInvalidFee, "fee_bps must be from 0 to 10000 basis points"))
		}
		m.FeeBps = *req.FeeBps
	}
	if req.DefaultCurrency != nil {
		cur, err := models.ParseCurrency(*req.DefaultCurrency)
		if err != nil {
			return fail(problem.Unprocessable(problem.CodeUnsupportedCurrency, "default_currency must be an ISO 4217 code in uppercase, like CNY"))
		}
		m.DefaultCurrency = cur
	}
	if req.NotifyURL != nil {
		if !models.ValidNotifyURL(*req.NotifyURL) {
			return fail(problem.Unprocessable(problem.CodeInvalidNotifyURL, "notify_url must be an absolute http or https URL without credentials"))
		}
		m.NotifyURL = *req.NotifyURL
	}
	return m, nil
}

// createMerchant onboards a merchant with a fresh secret, shown in this answer only.
func (h *Handler) createMerchant(c *gin.Context) {
	var req createMerchantRequest
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	m, p := validateMerchant(req)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	created, secret, err := h.Merchants.Create(c.Request.Context(), m)
	if err != nil {
		h.audit(c, "merchant.create", created.ID, "", "error", "")
		h.internal(c, "create merchant", err)
		return
	}
	m.ID = created.ID
	h.audit(c, "merchant.create", m.ID, "", "accepted",
		fmt.Sprintf("name %q, fee_bps %d, review_threshold %d, default_currency %s", m.Name, m.FeeBps, m.ReviewThreshold, m.DefaultCurrency))
	h.Log.WithFields(logrus.Fields{
		"merchant_id": m.ID, "operator": c.GetString(middleware.KeyOperator), "request_id": c.GetString(middleware.KeyRequestID),
	}).Info("merchant created")
	out := merchantView(created)
	out.Secret = secret
	c.JSON(http.StatusCreated, out)
}
