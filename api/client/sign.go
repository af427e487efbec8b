package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/payflow/payflow/internal/signing"
)

// SignAsMerchant is a RequestEditorFn that signs each request as the merchant with its
// secret: the four X-Payflow-* headers over the method, the request target exactly as
// sent, the timestamp, a fresh nonce and the body. Pass it to NewClientWithResponses
// with WithRequestEditorFn.
func SignAsMerchant(merchantID, secret string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		var body []byte
		if req.Body != nil && req.Body != http.NoBody {
			b, err := io.ReadAll(req.Body)
			if err != nil {
				return fmt.Errorf("sign: read body: %w", err)
			}
			_ = req.Body.Close()
			body = b
			req.Body = io.NopCloser(bytes.NewReader(b))
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		}
		var n [18]byte
		if _, err := rand.Read(n[:]); err != nil {
			return fmt.Errorf("sign: nonce: %w", err)
		}
		nonce := base64.RawURLEncoding.EncodeToString(n[:])
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(signing.HeaderMerchant, merchantID)
		req.Header.Set(signing.HeaderTimestamp, ts)
		req.Header.Set(signing.HeaderNonce, nonce)
		req.Header.Set(signing.HeaderSignature, signing.SignRequest(secret, req.Method, req.URL.RequestURI(), ts, nonce, body))
		return nil
	}
}

// BearerToken is a RequestEditorFn that sends an ops token (the ops API).
func BearerToken(token string) RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
