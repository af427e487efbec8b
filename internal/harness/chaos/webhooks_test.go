package chaos

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The receiver checks signatures the way docs/api.md specifies them, independently of
// payflow's signing package: its test vector verifies, and any change does not.
func TestVerifySignatureProductVector(t *testing.T) {
	body := []byte(`{"id":"evt_1","type":"payment.succeeded"}`)
	at := time.Unix(1767225600, 0)
	header := "t=1767225600,v1=8b25789bc25b193f6b477b0d98970c26f1df316157e3163681a43dd455dce26a"
	require.NoError(t, VerifySignature("whsec_demo_change_me", header, body, at))
	// During a webhook secret rotation: two v1= pairs, the new secret's first.
	rotated := sign("whsec_new", 1767225600, string(body)) + ",v1=8b25789bc25b193f6b477b0d98970c26f1df316157e3163681a43dd455dce26a"
	require.NoError(t, VerifySignature("whsec_demo_change_me", rotated, body, at))
	require.NoError(t, VerifySignature("whsec_new", rotated, body, at))

	for name, tc := range map[string]struct {
		secret, header string
		body           []byte
		now            time.Time
	}{
		"other secret":   {"other", header, body, at},
		"the API secret": {"demo_secret_change_me", header, body, at},
		"other body":     {"whsec_demo_change_me", header, []byte(`{"id":"evt_2","type":"payment.succeeded"}`), at},
		"other time":     {"whsec_demo_change_me", strings.Replace(header, "t=1767225600", "t=1767225601", 1), body, at},
		"stale":          {"whsec_demo_change_me", header, body, at.Add(6 * time.Minute)},
		"no v1":          {"whsec_demo_change_me", "t=1767225600", body, at},
		"empty":          {"whsec_demo_change_me", "", body, at},
		"t not a number": {"whsec_demo_change_me", "t=x,v1=dacd", body, at},
	} {
		assert.Error(t, VerifySignature(tc.secret, tc.header, tc.body, tc.now), name)
	}
}

// Every POST is recorded by its event; a bad signature is refused 401 and counted, a
// valid one accepted (after one refusal for the events FailEvery picks).
func TestReceiverRecordsAndRefuses(t *testing.T) {
	rcv, err := NewReceiver("s3cret", 0)
	require.NoError(t, err)
	defer rcv.Close()
	post := func(sig, body string) int {
		req, err := http.NewRequest(http.MethodPost, rcv.URL(), strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("X-Payflow-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	body := `{"id":"evt_9","type":"topup.succeeded","created":"2026-01-01T00:00:00Z","data":{"id":"top_1"}}`
	require.Equal(t, 401, post("t=1,v1=00", body))
	require.Equal(t, 200, post(sign("s3cret", time.Now().Unix(), body), body))
	got := rcv.Deliveries()["top_1"]
	require.Len(t, got, 1)
	assert.Equal(t, Delivery{EventID: "evt_9", Type: "topup.succeeded", ObjectID: "top_1", Attempts: 2, Invalid: 1, Accepted: true, Body: []byte(body)}, got[0])

	rcv.SetSecret("rotated")
	rcv.FailEvery = 1
	body = `{"id":"evt_10","type":"payment.failed","data":{"id":"pay_1"}}`
	sig := sign("rotated", time.Now().Unix(), body)
	require.Equal(t, 500, post(sig, body), "the first attempt of a picked event is refused")
	require.Equal(t, 200, post(sig, body))
	assert.True(t, rcv.Deliveries()["pay_1"][0].Accepted)
}

func TestEventType(t *testing.T) {
	assert.Equal(t, "payment.succeeded", eventType("payment", "partially_refunded"))
	assert.Equal(t, "payment.succeeded", eventType("payment", "refunded"))
	assert.Equal(t, "withdrawal.failed", eventType("withdrawal", "failed"))
}

func sign(secret string, t int64, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.%s", t, body)
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(mac.Sum(nil)))
}
