package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// merchantJSON is a merchant as the ops API shows it. Secret and WebhookSecret are
// set only in the answer that creates the merchant: they are never read back.
type merchantJSON struct {
	Object string `json:"object"`
	models.Merchant
	Secret        string `json:"secret,omitempty"`
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

func merchantView(m models.Merchant) merchantJSON {
	return merchantJSON{Object: "merchant", Merchant: m}
}

// validName accepts 1-255 bytes of UTF-8 that are not all spaces.
func validName(s string) bool {
	return len(s) <= 255 && utf8.ValidString(s) && strings.TrimSpace(s) != ""
}

// maxFeeBps is a fee of 100 %.
const maxFeeBps = 10_000

// defaultReviewMajorUnits is the review threshold of a merchant created without one,
// in major units of its default currency: 10000.00 CNY is 1000000 minor units, 10000
// JPY is 10000. An explicit 0 still means "never review".
const defaultReviewMajorUnits = 10_000

// defaultReviewThreshold is defaultReviewMajorUnits in minor units of cur.
func defaultReviewThreshold(cur models.Currency) int64 {
	t := int64(defaultReviewMajorUnits)
	for range cur.Exponent() {
		t *= 10
	}
	return t
}

// createMerchantRequest is the body of POST /v1/ops/merchants.
type createMerchantRequest struct {
	Name            *string `json:"name"`
	ReviewThreshold *int64  `json:"review_threshold"`
	// Withdrawal limits in minor units; absent: no limit.
	WithdrawalLimitPerTransaction *int64 `json:"withdrawal_limit_per_transaction"`
	WithdrawalLimitDaily          *int64 `json:"withdrawal_limit_daily"`
	// WithdrawalDelay is in seconds; absent: the default (24 h).
	WithdrawalDelay *int64  `json:"withdrawal_delay"`
	FeeBps          *int64  `json:"fee_bps"`
	DefaultCurrency *string `json:"default_currency"`
	NotifyURL       *string `json:"notify_url"`
	// NoPasswordLimit in minor units; absent: the default (20000).
	NoPasswordLimit *int64 `json:"no_password_limit"`
	// The identity services' prices in minor units; absent: the defaults (50, 10,
	// 300, 0).
	VerificationFee       *int64 `json:"verification_fee"`
	VerificationCachedFee *int64 `json:"verification_cached_fee"`
	CreditReportFee       *int64 `json:"credit_report_fee"`
	CreditReportReuseFee  *int64 `json:"credit_report_reuse_fee"`
}

// checkPrice: a per-call price is 0 to 1,000,000 minor units.
func checkPrice(name string, v int64) *problem.Problem {
	if v < 0 || v > maxPrice {
		return ptr(problem.Invalid(fmt.Sprintf("%s must be from 0 to %d minor units", name, maxPrice)))
	}
	return nil
}

// maxPrice bounds a per-call price (10,000 major units).
const maxPrice = 1_000_000

// setPrices checks and applies the prices a request names.
func setPrices(p *models.Prices, verification, cached, report, reuse *int64) *problem.Problem {
	for _, f := range []struct {
		name string
		v    *int64
		dst  *int64
	}{{"verification_fee", verification, &p.VerificationFee}, {"verification_cached_fee", cached, &p.VerificationCachedFee},
		{"credit_report_fee", report, &p.CreditReportFee}, {"credit_report_reuse_fee", reuse, &p.CreditReportReuseFee}} {
		if f.v == nil {
			continue
		}
		if pr := checkPrice(f.name, *f.v); pr != nil {
			return pr
		}
		*f.dst = *f.v
	}
	return nil
}

// checkNoPasswordLimit: a wallet code payment above it waits for the wallet owner;
// 0 makes every one wait.
func checkNoPasswordLimit(v int64) *problem.Problem {
	if v < 0 || v > models.MaxAmount {
		return ptr(problem.Invalid(fmt.Sprintf("no_password_limit must be from 0 to %d minor units", models.MaxAmount)))
	}
	return nil
}

// The checks of the settings a merchant is onboarded with and may be updated to, one
// per field, shared by create and update so that both accept the same values.

func checkFeeBps(v int64) *problem.Problem {
	if v < 0 || v > maxFeeBps {
		return ptr(problem.Unprocessable(problem.CodeInvalidFee, "fee_bps must be from 0 to 10000 basis points"))
	}
	return nil
}

func checkNotifyURL(s string) *problem.Problem {
	if !models.ValidNotifyURL(s) {
		return ptr(problem.Unprocessable(problem.CodeInvalidNotifyURL, "notify_url must be an absolute http or https URL without credentials"))
	}
	return nil
}

func checkReviewThreshold(v int64) *problem.Problem {
	if v < 0 || v > models.MaxAmount {
		return ptr(problem.Unprocessable(problem.CodeInvalidAmount, fmt.Sprintf("review_threshold must be from 0 (never review) to %d minor units", models.MaxAmount)))
	}
	return nil
}

func checkWithdrawalDelay(v int64) *problem.Problem {
	if maxDelay := int64(models.MaxWithdrawalDelay / time.Second); v < 0 || v > maxDelay {
		return ptr(problem.Invalid(fmt.Sprintf("withdrawal_delay must be a whole number of seconds from 0 (withdrawable at once) to %d (30 days); 86400 is 24 h", maxDelay)))
	}
	return nil
}

// checkWithdrawalLimit checks the withdrawal limit named field; noLimit says how the
// request asks for none.
func checkWithdrawalLimit(field string, v int64, noLimit string) *problem.Problem {
	if models.ValidateAmount(v) != nil {
		return ptr(problem.Unprocessable(problem.CodeInvalidAmount, fmt.Sprintf("%s must be from 1 to %d minor units (%s for no limit)", field, models.MaxAmount, noLimit)))
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func validateMerchant(req createMerchantRequest) (models.Merchant, *problem.Problem) {
	fail := func(p *problem.Problem) (models.Merchant, *problem.Problem) { return models.Merchant{}, p }
	if req.Name == nil {
		return fail(ptr(problem.Invalid("field \"name\" is required")))
	}
	if !validName(*req.Name) {
		return fail(ptr(problem.Invalid("name must be 1-255 bytes of UTF-8, not only spaces")))
	}
	m := models.Merchant{
		Name: *req.Name, DefaultCurrency: "CNY", Status: models.MerchantActive,
	}
	if req.FeeBps != nil {
		if p := checkFeeBps(*req.FeeBps); p != nil {
			return fail(p)
		}
		m.FeeBps = *req.FeeBps
	}
	m.Prices = models.DefaultPrices()
	if p := setPrices(&m.Prices, req.VerificationFee, req.VerificationCachedFee, req.CreditReportFee, req.CreditReportReuseFee); p != nil {
		return fail(p)
	}
	m.NoPasswordLimit = models.DefaultNoPasswordLimit
	if req.NoPasswordLimit != nil {
		if p := checkNoPasswordLimit(*req.NoPasswordLimit); p != nil {
			return fail(p)
		}
		m.NoPasswordLimit = *req.NoPasswordLimit
	}
	if req.DefaultCurrency != nil {
		cur, err := models.ParseCurrency(*req.DefaultCurrency)
		if err != nil {
			return fail(ptr(problem.Unprocessable(problem.CodeUnsupportedCurrency, "default_currency must be an ISO 4217 code in uppercase, like CNY")))
		}
		m.DefaultCurrency = cur
	}
	if req.NotifyURL != nil {
		if p := checkNotifyURL(*req.NotifyURL); p != nil {
			return fail(p)
		}
		m.NotifyURL = *req.NotifyURL
	}
	m.ReviewThreshold = defaultReviewThreshold(m.DefaultCurrency)
	if req.ReviewThreshold != nil {
		if p := checkReviewThreshold(*req.ReviewThreshold); p != nil {
			return fail(p)
		}
		m.ReviewThreshold = *req.ReviewThreshold
	}
	m.WithdrawalDelaySeconds = int64(models.DefaultWithdrawalDelay / time.Second)
	if req.WithdrawalDelay != nil {
		if p := checkWithdrawalDelay(*req.WithdrawalDelay); p != nil {
			return fail(p)
		}
		m.WithdrawalDelaySeconds = *req.WithdrawalDelay
	}
	for _, l := range []struct {
		name string
		v    *int64
		dst  **int64
	}{
		{"withdrawal_limit_per_transaction", req.WithdrawalLimitPerTransaction, &m.WithdrawalLimitPerTransaction},
		{"withdrawal_limit_daily", req.WithdrawalLimitDaily, &m.WithdrawalLimitDaily},
	} {
		if l.v == nil {
			continue
		}
		if p := checkWithdrawalLimit(l.name, *l.v, "leave it out"); p != nil {
			return fail(p)
		}
		*l.dst = l.v
	}
	return m, nil
}

// updateMerchantRequest is the body of PATCH /v1/ops/merchants/{id}: the settings to
// change, each absent to keep it. A withdrawal limit set to null is removed, a
// notify_url set to "" too.
type updateMerchantRequest struct {
	ReviewThreshold               *int64                 `json:"review_threshold"`
	WithdrawalLimitPerTransaction decode.Nullable[int64] `json:"withdrawal_limit_per_transaction"`
	WithdrawalLimitDaily          decode.Nullable[int64] `json:"withdrawal_limit_daily"`
	WithdrawalDelay               *int64                 `json:"withdrawal_delay"`
	FeeBps                        *int64                 `json:"fee_bps"`
	NotifyURL                     *string                `json:"notify_url"`
	NoPasswordLimit               *int64                 `json:"no_password_limit"`
	VerificationFee               *int64                 `json:"verification_fee"`
	VerificationCachedFee         *int64                 `json:"verification_cached_fee"`
	CreditReportFee               *int64                 `json:"credit_report_fee"`
	CreditReportReuseFee          *int64                 `json:"credit_report_reuse_fee"`
}

// validateUpdate checks an update with create's checks of each field; an update that
// names no field is refused.
func validateUpdate(req updateMerchantRequest) (models.MerchantUpdate, *problem.Problem) {
	u := models.MerchantUpdate{
		ReviewThreshold: req.ReviewThreshold, WithdrawalDelaySeconds: req.WithdrawalDelay, FeeBps: req.FeeBps, NotifyURL: req.NotifyURL,
		NoPasswordLimit: req.NoPasswordLimit,
		VerificationFee: req.VerificationFee, VerificationCachedFee: req.VerificationCachedFee,
		CreditReportFee: req.CreditReportFee, CreditReportReuseFee: req.CreditReportReuseFee,
		SetWithdrawalLimitPerTransaction: req.WithdrawalLimitPerTransaction.Set, WithdrawalLimitPerTransaction: req.WithdrawalLimitPerTransaction.Ptr(),
		SetWithdrawalLimitDaily: req.WithdrawalLimitDaily.Set, WithdrawalLimitDaily: req.WithdrawalLimitDaily.Ptr(),
	}
	if u.Empty() {
		return u, ptr(problem.Invalid("nothing to change: name at least one of review_threshold, withdrawal_limit_per_transaction, withdrawal_limit_daily, withdrawal_delay, fee_bps, notify_url, no_password_limit, verification_fee, verification_cached_fee, credit_report_fee, credit_report_reuse_fee"))
	}
	var checks []*problem.Problem
	if u.ReviewThreshold != nil {
		checks = append(checks, checkReviewThreshold(*u.ReviewThreshold))
	}
	if u.WithdrawalLimitPerTransaction != nil {
		checks = append(checks, checkWithdrawalLimit("withdrawal_limit_per_transaction", *u.WithdrawalLimitPerTransaction, "null"))
	}
	if u.WithdrawalLimitDaily != nil {
		checks = append(checks, checkWithdrawalLimit("withdrawal_limit_daily", *u.WithdrawalLimitDaily, "null"))
	}
	if u.WithdrawalDelaySeconds != nil {
		checks = append(checks, checkWithdrawalDelay(*u.WithdrawalDelaySeconds))
	}
	if u.FeeBps != nil {
		checks = append(checks, checkFeeBps(*u.FeeBps))
	}
	if u.NoPasswordLimit != nil {
		checks = append(checks, checkNoPasswordLimit(*u.NoPasswordLimit))
	}
	if u.NotifyURL != nil && *u.NotifyURL != "" {
		checks = append(checks, checkNotifyURL(*u.NotifyURL))
	}
	var prices models.Prices
	checks = append(checks, setPrices(&prices, u.VerificationFee, u.VerificationCachedFee, u.CreditReportFee, u.CreditReportReuseFee))
	for _, p := range checks {
		if p != nil {
			return u, p
		}
	}
	return u, nil
}

// createMerchant onboards a merchant with a fresh API secret and webhook signing
// secret, shown in this answer only.
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
	created, secret, webhookSecret, err := h.Merchants.Create(c.Request.Context(), m)
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
	out.Secret, out.WebhookSecret = secret, webhookSecret
	c.JSON(http.StatusCreated, out)
}

// updateMerchant changes a merchant's settings (a disabled merchant's too), audited
// with each setting the request names, old and new, and answers the merchant as GET
// does. The change applies to the flows that start after it.
func (h *Handler) updateMerchant(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixMerchant, "merchant")
	if !ok {
		return
	}
	var req updateMerchantRequest
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	u, p := validateUpdate(req)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	before, after, err := h.Merchants.Update(c.Request.Context(), id, u)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such merchant"))
		return
	case err != nil:
		h.audit(c, "merchant.update", id, "", "error", "")
		h.internal(c, "update merchant", err)
		return
	}
	changes := settingChanges(u, before, after)
	h.audit(c, "merchant.update", id, "", "accepted", changes)
	h.Log.WithFields(logrus.Fields{
		"merchant_id": id, "changes": changes, "operator": c.GetString(middleware.KeyOperator), "request_id": c.GetString(middleware.KeyRequestID),
	}).Info("merchant updated")
	c.JSON(http.StatusOK, merchantView(after))
}

// settingChanges words the settings an update names as "field old→new", in a fixed
// order, notify_url last (the longest; the audit detail is bounded) and without its
// query, which may carry a receiver's token.
func settingChanges(u models.MerchantUpdate, before, after models.Merchant) string {
	var out []string
	add := func(named bool, field string, from, to any) {
		if named {
			out = append(out, fmt.Sprintf("%s %v→%v", field, from, to))
		}
	}
	limit := func(l *int64) any {
		if l == nil {
			return "none"
		}
		return *l
	}
	add(u.ReviewThreshold != nil, "review_threshold", before.ReviewThreshold, after.ReviewThreshold)
	add(u.SetWithdrawalLimitPerTransaction, "withdrawal_limit_per_transaction", limit(before.WithdrawalLimitPerTransaction), limit(after.WithdrawalLimitPerTransaction))
	add(u.SetWithdrawalLimitDaily, "withdrawal_limit_daily", limit(before.WithdrawalLimitDaily), limit(after.WithdrawalLimitDaily))
	add(u.WithdrawalDelaySeconds != nil, "withdrawal_delay", before.WithdrawalDelaySeconds, after.WithdrawalDelaySeconds)
	add(u.FeeBps != nil, "fee_bps", before.FeeBps, after.FeeBps)
	add(u.NoPasswordLimit != nil, "no_password_limit", before.NoPasswordLimit, after.NoPasswordLimit)
	add(u.VerificationFee != nil, "verification_fee", before.VerificationFee, after.VerificationFee)
	add(u.VerificationCachedFee != nil, "verification_cached_fee", before.VerificationCachedFee, after.VerificationCachedFee)
	add(u.CreditReportFee != nil, "credit_report_fee", before.CreditReportFee, after.CreditReportFee)
	add(u.CreditReportReuseFee != nil, "credit_report_reuse_fee", before.CreditReportReuseFee, after.CreditReportReuseFee)
	add(u.NotifyURL != nil, "notify_url", auditURL(before.NotifyURL), auditURL(after.NotifyURL))
	return strings.Join(out, ", ")
}

// auditURL is a notify_url as the audit log shows it: "none", or without its query
// and fragment.
func auditURL(s string) string {
	if s == "" {
		return "none"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unreadable)"
	}
	shown := u.Scheme + "://" + u.Host + u.EscapedPath()
	if u.RawQuery != "" {
		shown += "?…"
	}
	return shown
}

// getMerchant shows a merchant: its settings, status and, while a rotation overlaps,
// when its previous secret expires. Never a secret.
func (h *Handler) getMerchant(c *gin.Context) {
	if m, ok := resource.Load(c, models.PrefixMerchant, "merchant", h.Merchants.Get, h.internal); ok {
		c.JSON(http.StatusOK, merchantView(m))
	}
}

// Overlaps of a secret rotation: how long the previous secret stays valid.
const (
	defaultOverlap = 24 * time.Hour
	maxOverlap     = 30 * 24 * time.Hour
)

// rotateSecretRequest is the optional body of POST /v1/ops/merchants/{id}/rotate-secret.
type rotateSecretRequest struct {
	OverlapSeconds *int64 `json:"overlap_seconds"`
}

// rotatedSecretJSON is the answer: the new secret, shown once.
type rotatedSecretJSON struct {
	ID                 string    `json:"id"`
	Object             string    `json:"object"`
	Secret             string    `json:"secret"`
	OldSecretExpiresAt time.Time `json:"old_secret_expires_at"`
}

// rotatedWebhookSecretJSON is the answer of a webhook secret rotation: the new
// webhook secret, shown once.
type rotatedWebhookSecretJSON struct {
	ID                        string    `json:"id"`
	Object                    string    `json:"object"`
	WebhookSecret             string    `json:"webhook_secret"`
	OldWebhookSecretExpiresAt time.Time `json:"old_webhook_secret_expires_at"`
}

// rotateSecret gives a merchant a new secret; requests signed with the previous one
// are accepted until the overlap ends, so that the merchant can roll the new one out
// without refused requests.
func (h *Handler) rotateSecret(c *gin.Context) {
	if id, secret, expires, ok := h.rotate(c, "merchant.rotate_secret", "secret", h.Merchants.RotateSecret); ok {
		c.JSON(http.StatusOK, rotatedSecretJSON{ID: id, Object: "merchant_secret", Secret: secret, OldSecretExpiresAt: expires})
	}
}

// rotateWebhookSecret gives a merchant a new webhook signing secret; webhooks carry a
// signature with each of the two until the overlap ends, so that the merchant can
// roll the new one out to its receivers.
func (h *Handler) rotateWebhookSecret(c *gin.Context) {
	if id, secret, expires, ok := h.rotate(c, "merchant.rotate_webhook_secret", "webhook secret", h.Merchants.RotateWebhookSecret); ok {
		c.JSON(http.StatusOK, rotatedWebhookSecretJSON{ID: id, Object: "merchant_webhook_secret", WebhookSecret: secret, OldWebhookSecretExpiresAt: expires})
	}
}

// rotate reads a rotation request (its optional overlap), runs it, audits and logs
// it (never the secret) and answers problems; ok when the caller is to answer the new
// secret.
func (h *Handler) rotate(c *gin.Context, action, what string,
	rotate func(ctx context.Context, id string, overlap time.Duration) (string, time.Time, error),
) (id, secret string, expires time.Time, ok bool) {
	id, ok = resource.PathID(c, "id", models.PrefixMerchant, "merchant")
	if !ok {
		return "", "", time.Time{}, false
	}
	overlap := defaultOverlap
	if body := middleware.Body(c); len(body) > 0 {
		var req rotateSecretRequest
		if err := decode.Strict(body, &req); err != nil {
			problem.Write(c, problem.Invalid(err.Error()))
			return "", "", time.Time{}, false
		}
		if req.OverlapSeconds != nil {
			if *req.OverlapSeconds < 0 || *req.OverlapSeconds > int64(maxOverlap/time.Second) {
				problem.Write(c, problem.Invalid("overlap_seconds must be from 0 to 2592000 (30 days)"))
				return "", "", time.Time{}, false
			}
			overlap = time.Duration(*req.OverlapSeconds) * time.Second
		}
	}
	secret, expires, err := rotate(c.Request.Context(), id, overlap)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such merchant"))
		return "", "", time.Time{}, false
	case errors.Is(err, starter.ErrConcurrentRotation):
		h.audit(c, action, id, "", "refused", "another rotation of this merchant won the race")
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, "another rotation of this merchant's "+what+" happened meanwhile; send the request again"))
		return "", "", time.Time{}, false
	case err != nil:
		h.audit(c, action, id, "", "error", "")
		h.internal(c, "rotate merchant "+what, err)
		return "", "", time.Time{}, false
	}
	h.audit(c, action, id, "", "accepted", fmt.Sprintf("previous %s valid until %s", what, expires.Format(time.RFC3339)))
	h.Log.WithFields(logrus.Fields{
		"merchant_id": id, "old_secret_expires_at": expires.Format(time.RFC3339), "operator": c.GetString(middleware.KeyOperator),
		"request_id": c.GetString(middleware.KeyRequestID),
	}).Info("merchant " + what + " rotated")
	return id, secret, expires, true
}

func (h *Handler) setMerchantStatus(c *gin.Context, status models.MerchantStatus) {
	id := c.Param("id")
	reason, ok := readReason(c)
	if !ok {
		return
	}
	action := "merchant.disable"
	if status == models.MerchantActive {
		action = "merchant.enable"
	}
	err := h.Merchants.SetStatus(c.Request.Context(), id, status)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such merchant"))
	case err != nil:
		h.internal(c, "set merchant status", err)
	default:
		h.audit(c, action, id, reason, "accepted", "")
		c.JSON(http.StatusOK, gin.H{"id": id, "status": status})
	}
}
