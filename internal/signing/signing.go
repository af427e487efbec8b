// Package signing computes and verifies payflow's HMAC-SHA256 signatures: merchant
// requests (X-Payflow-Signature over method, path and query, timestamp, nonce and the
// body's SHA-256) and webhooks (t=UNIX,v1=HEX over t + "." + body).
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a signed merchant request.
const (
	HeaderMerchant  = "X-Payflow-Merchant"
	HeaderTimestamp = "X-Payflow-Timestamp"
	HeaderNonce     = "X-Payflow-Nonce"
	HeaderSignature = "X-Payflow-Signature"
)

// Errors of verification. The API answers every one of them the same way (401
// signature_invalid) so that a prober learns nothing; logs keep the reason.
var (
	ErrMissingHeader = errors.New("missing signature header")
	ErrBadTimestamp  = errors.New("timestamp is not unix seconds")
	ErrStale         = errors.New("timestamp outside the allowed window")
	ErrBadNonce      = errors.New("nonce must be 16-64 characters of [A-Za-z0-9_-]")
	ErrBadSignature  = errors.New("signature does not match")
)

// BodyHash is the lowercase hex SHA-256 of a raw body (of "" for a GET).
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// StringToSign is METHOD \n PATH_AND_QUERY \n TIMESTAMP \n NONCE \n hex(SHA-256(body)).
func StringToSign(method, pathAndQuery, timestamp, nonce string, body []byte) string {
	return strings.Join([]string{method, pathAndQuery, timestamp, nonce, BodyHash(body)}, "\n")
}

// SignRequest returns the lowercase hex HMAC-SHA256 signature of a request.
func SignRequest(secret, method, pathAndQuery, timestamp, nonce string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(StringToSign(method, pathAndQuery, timestamp, nonce, body)))
	return hex.EncodeToString(mac.Sum(nil))
}

// ValidNonce reports whether a nonce is 16-64 characters of [A-Za-z0-9_-].
func ValidNonce(n string) bool {
	if len(n) < 16 || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ParseTimestamp reads unix seconds (digits only, no sign, at most 12 digits).
func ParseTimestamp(s string) (time.Time, error) {
	if s == "" || len(s) > 12 {
		return time.Time{}, ErrBadTimestamp
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, ErrBadTimestamp
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, ErrBadTimestamp
	}
	return time.Unix(n, 0), nil
}

// Request is what a verifier needs of an incoming request.
type Request struct {
	Method       string
	PathAndQuery string
	Timestamp    string
	Nonce        string
	Signature    string
	Body         []byte
}

// VerifyRequest checks the timestamp window, the nonce's shape and the signature
// against each of the merchant's valid secrets (two during a rotation), in constant
// time per secret. It does not check that the nonce is new: the caller records it
// only after the signature proved the request genuine, so that a forger cannot burn a
// merchant's nonces.
func VerifyRequest(r Request, secrets []string, now time.Time, tolerance time.Duration) error {
	if r.Timestamp == "" || r.Nonce == "" || r.Signature == "" {
		return ErrMissingHeader
	}
	ts, err := ParseTimestamp(r.Timestamp)
	if err != nil {
		return err
	}
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: %s from server time", ErrStale, d.Round(time.Second))
	}
	if !ValidNonce(r.Nonce) {
		return ErrBadNonce
	}
	got, err := hex.DecodeString(r.Signature)
	if err != nil || len(got) != sha256.Size || strings.ToLower(r.Signature) != r.Signature {
		return ErrBadSignature
	}
	ok := false
	for _, secret := range secrets {
		want, _ := hex.DecodeString(SignRequest(secret, r.Method, r.PathAndQuery, r.Timestamp, r.Nonce, r.Body))
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// SignWebhook returns the X-Payflow-Signature header of a webhook: t=UNIX,v1=HEX with
// HEX = HMAC-SHA256(secret, t + "." + body).
func SignWebhook(secret string, t int64, body []byte) string {
	return SignWebhookAll([]string{secret}, t, body)
}

// SignWebhookAll returns the header with one v1= pair per secret, in the order given
// (a merchant's newest webhook secret first, then the previous one while a rotation
// overlaps): t=UNIX,v1=HEX1,v1=HEX2. A receiver accepts the webhook if any pair
// verifies with its secret.
func SignWebhookAll(secrets []string, t int64, body []byte) string {
	var b strings.Builder
	b.WriteString("t=" + strconv.FormatInt(t, 10))
	for _, secret := range secrets {
		b.WriteString(",v1=" + webhookMAC(secret, t, body))
	}
	return b.String()
}

func webhookMAC(secret string, t int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(t, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a webhook signature header against secret, refusing a t
// further than tolerance from now. Merchants' receivers do the same.
func VerifyWebhook(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var tStr string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			tStr = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if tStr == "" || len(sigs) == 0 {
		return ErrMissingHeader
	}
	ts, err := ParseTimestamp(tStr)
	if err != nil {
		return err
	}
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := webhookMAC(secret, ts.Unix(), body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return ErrBadSignature
}
