package load

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	apiclient "github.com/payflow/payflow/api/client"
)

func payment(status string) string {
	return `{"id":"pay_1","object":"payment","merchant_id":"mch_demo","amount":1050,"currency":"CNY",` +
		`"source":{"type":"card","token":"tok_success"},"status":"` + status + `","fee":0,"amount_refunded":0,` +
		`"workflow_id":"payment-pay_1","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z"}`
}

// A synchronous payment asks for the wait, takes a 200's final payment as it is, polls
// after a 202 until the payment is final, and fails on anything but succeeded.
func TestSyncCardPayment(t *testing.T) {
	for _, tc := range []struct {
		name        string
		post        int    // the POST's status
		polls       int    // GETs answered processing before final
		final       string // the final status
		wantErr     string
		want200     int64
		want202     int64
		wantGetReqs int64
	}{
		{name: "answered final", post: 200, final: "succeeded", want200: 1},
		{name: "answered processing, polled", post: 202, polls: 2, final: "succeeded", want202: 1, wantGetReqs: 3},
		{name: "ended failed", post: 202, final: "failed", wantErr: "ended failed", want202: 1, wantGetReqs: 1},
		{name: "refused", post: 422, wantErr: "HTTP 422"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gets atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodPost {
					require.Equal(t, "wait=10", r.Header.Get("Prefer"))
					require.NotEmpty(t, r.Header.Get("X-Payflow-Signature"))
					body, _ := io.ReadAll(r.Body)
					require.True(t, strings.Contains(string(body), `"token":"tok_success"`), "%s", body)
					w.WriteHeader(tc.post)
					switch tc.post {
					case 200:
						_, _ = io.WriteString(w, payment(tc.final))
					case 202:
						_, _ = io.WriteString(w, payment("processing"))
					default:
						_, _ = io.WriteString(w, `{"type":"about:blank","title":"no","status":422,"code":"invalid_amount"}`)
					}
					return
				}
				if gets.Add(1) <= int64(tc.polls) {
					_, _ = io.WriteString(w, payment("processing"))
					return
				}
				_, _ = io.WriteString(w, payment(tc.final))
			}))
			defer srv.Close()
			c, err := apiclient.NewClientWithResponses(srv.URL, apiclient.WithRequestEditorFn(apiclient.SignAsMerchant("mch_demo", "s")))
			require.NoError(t, err)
			var answers SyncAnswers
			err = SyncCardPayment(context.Background(), c, 1050, 10, &answers)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want200, answers.Final.Load())
			require.Equal(t, tc.want202, answers.Processing.Load())
			require.Equal(t, tc.wantGetReqs, gets.Load())
		})
	}
}
