package banksim

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

// SignatureHeader carries a callback's signature.
const SignatureHeader = "X-Banksim-Signature"

// DefaultCallbackTolerance is the age VerifyCallback accepts when given a
// non-positive tolerance.
const DefaultCallbackTolerance = 5 * time.Minute

// Errors of VerifyCallback.
var (
	ErrSignatureMalformed = errors.New("banksim: malformed signature header")
	ErrSignatureMismatch  = errors.New("banksim: signature does not match")
	ErrSignatureStale     = errors.New("banksim: signature timestamp outside tolerance")
)

// SignCallback returns the X-Banksim-Signature header value of a callback
// body sent at Unix time t: "t=<t>,v1=<hex HMAC-SHA256(secret, t.body)>".
// Signing the timestamp with the body lets a receiver refuse replays.
func SignCallback(secret string, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(callbackMAC(secret, ts, body))
}

func callbackMAC(secret, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyCallback checks a callback's X-Banksim-Signature header against its
// raw body. It returns ErrSignatureMalformed, ErrSignatureMismatch when no v1
// signature matches, or ErrSignatureStale when t is further than tolerance
// from now (DefaultCallbackTolerance when tolerance <= 0).
func VerifyCallback(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultCallbackTolerance
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureMalformed
		}
		switch key {
		case "t":
			ts = value
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil {
				return fmt.Errorf("%w: v1 is not hex", ErrSignatureMalformed)
			}
			sigs = append(sigs, sig)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrSignatureMalformed)
	}
	want := callbackMAC(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrSignatureMismatch
	}
	if age := now.Sub(time.Unix(t, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: signed at %d, now %d", ErrSignatureStale, t, now.Unix())
	}
	return nil
}
