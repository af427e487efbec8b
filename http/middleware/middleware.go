// Package middleware holds the HTTP layers every payflow request passes: request ids
// and structured access logs, the query, body and media type limits, merchant
// signature authentication with replay protection and the per-merchant rate limit,
// and the ops bearer token.
package middleware

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// MaxBodyBytes is the largest request body payflow reads (1 MiB).
const MaxBodyBytes = 1 << 20

// Context keys set by the middleware.
const (
	KeyRequestID  = "request_id"
	KeyMerchantID = "merchant_id"
	KeyBody       = "raw_body"
	KeyOperator   = "operator"
)

// RequestID gives every request an id (the client's X-Request-Id if it is sane),
// echoed in the response and in every log line of the request.
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if len(id) < 8 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = "req_" + hex.EncodeToString(b[:])
		}
		c.Set(KeyRequestID, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// AccessLog writes one structured line per request: never its body, query values or
// headers, which may carry signatures and tokens.
func AccessLog(log *logrus.Entry) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		f := logrus.Fields{
			"method":      c.Request.Method,
			"path":        c.FullPath(),
			"status":      c.Writer.Status(),
			"duration_ms": time.Since(start).Milliseconds(),
			"request_id":  c.GetString(KeyRequestID),
		}
		if f["path"] == "" {
			f["path"] = "unmatched"
		}
		if m := c.GetString(KeyMerchantID); m != "" {
			f["merchant_id"] = m
		}
		entry := log.WithFields(f)
		switch {
		case c.Writer.Status() >= 500:
			entry.Warn("request")
		default:
			entry.Info("request")
		}
	}
}

// Recover turns a panic into a logged 500 problem; http.ErrAbortHandler goes on
// to net/http, which aborts the response.
func Recover(log *logrus.Entry) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					// A handler cutting a response it has begun (a stream whose
					// source failed): net/http closes the connection, so that the
					// client sees a broken response rather than a short one.
					panic(r)
				}
				log.WithFields(logrus.Fields{"panic": r, "request_id": c.GetString(KeyRequestID)}).Error("handler panicked")
				problem.Write(c, problem.Internal())
			}
		}()
		c.Next()
	}
}

// ReadBody reads the whole body into the context, refusing more than MaxBodyBytes with
// 413 payload_too_large: by Content-Length before reading anything, or as soon as
// the limit is crossed while reading.
func ReadBody() gin.HandlerFunc {
	const tooLarge = "the body is over 1 MiB"
	return func(c *gin.Context) {
		if c.Request.ContentLength > MaxBodyBytes {
			problem.Write(c, problem.New(http.StatusRequestEntityTooLarge, problem.CodePayloadTooLarge, tooLarge))
			return
		}
		body, ok := ReadAtMost(c, MaxBodyBytes, tooLarge)
		if !ok {
			return
		}
		c.Set(KeyBody, body)
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Next()
	}
}

// ReadAtMost reads the whole body, refusing one of more than limit bytes as soon as
// the limit is crossed with 413 payload_too_large (tooLarge is the problem's detail),
// and one that cannot be read with 400.
func ReadAtMost(c *gin.Context, limit int64, tooLarge string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes):
		problem.Write(c, problem.New(http.StatusRequestEntityTooLarge, problem.CodePayloadTooLarge, tooLarge))
		return nil, false
	case err != nil:
		problem.Write(c, problem.Invalid("the body could not be read"))
		return nil, false
	}
	return body, true
}

// Body returns the raw body ReadBody stored.
func Body(c *gin.Context) []byte {
	b, _ := c.Get(KeyBody)
	body, _ := b.([]byte)
	return body
}

// Merchants is what signature authentication needs of the store.
type Merchants interface {
	// MerchantSecrets returns the merchant's currently valid secrets (two while a
	// rotation overlaps); an unknown merchant is an error.
	MerchantSecrets(ctx context.Context, merchantID string) ([]string, error)
	// Admit records the nonce of a request whose signature was verified and takes
	// one request from the merchant's budget (the zero TokenBucket is no limit), in
	// one transaction shared by every API replica. A nonce the merchant used before
	// returns store.ErrNonceReused and spends nothing; a merchant over its budget gets
	// false and how long to wait, and its nonce is spent all the same.
	Admit(ctx context.Context, merchantID, nonce string, budget store.TokenBucket, now time.Time) (bool, time.Duration, error)
}

// SignatureAuth verifies the merchant signature (docs/api.md, Signing), after ReadBody, then
// admits the request: its nonce must be new (replay protection) and the merchant must
// be within its budget (429 rate_limited with Retry-After). Every authentication
// failure answers the same 401 signature_invalid; the log says which check failed,
// never the signature itself. The budget is spent only by requests that proved they
// come from the merchant: an unsigned request naming a merchant, or a replay of a
// genuine one, cannot exhaust another merchant's budget.
func SignatureAuth(m Merchants, budget store.TokenBucket, tolerance time.Duration, now func() time.Time, log *logrus.Entry) gin.HandlerFunc {
	return func(c *gin.Context) {
		merchantID := c.GetHeader(signing.HeaderMerchant)
		req := signing.Request{
			Method:       c.Request.Method,
			PathAndQuery: c.Request.RequestURI,
			Timestamp:    c.GetHeader(signing.HeaderTimestamp),
			Nonce:        c.GetHeader(signing.HeaderNonce),
			Signature:    c.GetHeader(signing.HeaderSignature),
			Body:         Body(c),
		}
		fail := func(reason string, err error) {
			entry := log.WithFields(logrus.Fields{"reason": reason, "request_id": c.GetString(KeyRequestID)})
			if len(merchantID) <= 64 {
				entry = entry.WithField("merchant_id", merchantID)
			}
			if err != nil {
				entry = entry.WithError(err)
			}
			entry.Info("merchant authentication refused")
			problem.Write(c, problem.SignatureInvalid())
		}
		if merchantID == "" || len(merchantID) > 64 {
			fail("missing merchant", nil)
			return
		}
		secrets, err := m.MerchantSecrets(c.Request.Context(), merchantID)
		if err != nil {
			fail("unknown merchant", nil)
			return
		}
		t := now()
		if err := signing.VerifyRequest(req, secrets, t, tolerance); err != nil {
			fail("signature", err)
			return
		}
		ok, wait, err := m.Admit(c.Request.Context(), merchantID, req.Nonce, budget, t)
		switch {
		case errors.Is(err, store.ErrNonceReused):
			fail("nonce", err)
			return
		case err != nil:
			log.WithError(err).WithFields(logrus.Fields{"merchant_id": merchantID, "request_id": c.GetString(KeyRequestID)}).Error("admit merchant request")
			problem.Write(c, problem.Unavailable("the request could not be admitted; retry"))
			return
		case !ok:
			c.Set(KeyMerchantID, merchantID)
			p := problem.New(http.StatusTooManyRequests, problem.CodeRateLimited, "this merchant is over its request budget; retry after Retry-After seconds")
			p.RetryAfter = int(math.Ceil(wait.Seconds()))
			if p.RetryAfter < 1 {
				p.RetryAfter = 1
			}
			problem.Write(c, p)
			return
		}
		c.Set(KeyMerchantID, merchantID)
		c.Next()
	}
}

// MerchantID returns the authenticated merchant.
func MerchantID(c *gin.Context) string { return c.GetString(KeyMerchantID) }

// OpsAuthRefused is the audit action of a refused ops-token attempt: its target is
// the client's address, its result "refused" (no token or a wrong one) or
// "rate_limited"; the token presented is never recorded.
const OpsAuthRefused = "ops.auth_refused"

// OpsAttempts is the shared budget of ops-token attempts per client address
// (store.Store).
type OpsAttempts interface {
	TakeAttempt(ctx context.Context, key string, b store.AttemptBudget, now time.Time) (bool, time.Duration, error)
	AttemptsSpent(ctx context.Context, key string, b store.AttemptBudget, now time.Time) (bool, time.Duration, error)
}

// Auditor appends to the audit log (store.Store).
type Auditor interface {
	Audit(ctx context.Context, e models.AuditEntry) (models.AuditEntry, error)
}

// OpsGuard limits and audits the ops-token attempts of each client address.
type OpsGuard struct {
	Attempts OpsAttempts
	// Budget is the attempts an address may fail: every attempt takes one before its
	// token is compared, a good token gives it back.
	Budget store.AttemptBudget
	Audit  Auditor
	Now    func() time.Time
}

// attemptKey is the budget key of a client address: an IPv6 client is counted by its
// /64, which one subscriber holds whole.
func attemptKey(clientIP string) string {
	key := clientIP
	if a, err := netip.ParseAddr(clientIP); err == nil {
		a = a.Unmap().WithZone("")
		key = a.String()
		if a.Is6() {
			key = netip.PrefixFrom(a, 64).Masked().String()
		}
	}
	key = "ops-auth:" + key
	if len(key) > 64 {
		key = key[:64]
	}
	return key
}

// OpsAuth accepts `Authorization: Bearer <token>` for any configured ops token,
// compared in constant time (over hashes, so that lengths leak nothing either).
// With a guard, each failed attempt takes one from its client address's budget: an
// address that has spent it is answered 429 rate_limited with Retry-After, its token
// not even compared (a good token included: the lockout is the address's); good
// tokens spend nothing, so that an operator's requests sent at once never lock
// each other out. Every refused attempt is audited with the address, never the token.
func OpsAuth(tokens []string, guard *OpsGuard, log *logrus.Entry) gin.HandlerFunc {
	hashes := make([][32]byte, len(tokens))
	for i, t := range tokens {
		hashes[i] = sha256.Sum256([]byte(t))
	}
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		addr := c.ClientIP()
		key := attemptKey(addr)
		refuse := func(p problem.Problem, result, detail string) {
			log.WithFields(logrus.Fields{"request_id": c.GetString(KeyRequestID), "client_ip": addr, "result": result}).Info("ops authentication refused")
			if guard != nil && guard.Audit != nil {
				_, err := guard.Audit.Audit(ctx, models.AuditEntry{
					Operator: "anonymous", Action: OpsAuthRefused, Target: addr, Result: result,
					Detail: detail + " (" + c.Request.Method + " " + c.FullPath() + ")",
				})
				if err != nil {
					log.WithError(err).WithField("request_id", c.GetString(KeyRequestID)).Error("audit log write failed")
				}
			}
			problem.Write(c, p)
		}
		locked := func(wait time.Duration) {
			p := problem.New(http.StatusTooManyRequests, problem.CodeRateLimited, "too many failed ops-token attempts from this address; retry after Retry-After seconds")
			p.RetryAfter = int(math.Ceil(wait.Seconds()))
			if p.RetryAfter < 1 {
				p.RetryAfter = 1
			}
			refuse(p, "rate_limited", "too many failed attempts, token not compared")
		}
		unavailable := func(err error) {
			log.WithError(err).WithField("request_id", c.GetString(KeyRequestID)).Error("ops attempt budget")
			problem.Write(c, problem.New(http.StatusServiceUnavailable, problem.CodeServiceUnavailable, "the ops API is unavailable; retry later"))
		}
		// A locked-out address is refused before its token is compared (a good
		// token included: the lockout is the address's). Only a failure spends the
		// budget, so that good requests sent at once never lock each other out.
		if guard != nil {
			spent, wait, err := guard.Attempts.AttemptsSpent(ctx, key, guard.Budget, guard.Now())
			if err != nil {
				unavailable(err)
				return
			}
			if spent {
				locked(wait)
				return
			}
		}
		fail := func(p problem.Problem, detail string) {
			if guard != nil {
				ok, wait, err := guard.Attempts.TakeAttempt(ctx, key, guard.Budget, guard.Now())
				if err != nil {
					unavailable(err)
					return
				}
				if !ok {
					locked(wait)
					return
				}
			}
			refuse(p, "refused", detail)
		}
		h := c.GetHeader("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			fail(problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "an ops bearer token is required"), "no bearer token")
			return
		}
		got := sha256.Sum256([]byte(tok))
		match := -1
		for i := range hashes {
			if subtle.ConstantTimeCompare(got[:], hashes[i][:]) == 1 {
				match = i
			}
		}
		if match < 0 {
			fail(problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "the ops token is not valid"), "wrong token")
			return
		}
		// Operators are known by the index of their token, never by the token.
		c.Set(KeyOperator, "ops-token-"+hex.EncodeToString(got[:4]))
		c.Next()
	}
}
