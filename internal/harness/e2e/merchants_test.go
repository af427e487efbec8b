package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/models"
)

type opsMerchant struct {
	ID                 string     `json:"id"`
	Secret             string     `json:"secret"`
	WebhookSecret      string     `json:"webhook_secret"`
	ReviewThreshold    int64      `json:"review_threshold"`
	FeeBps             int64      `json:"fee_bps"`
	WithdrawalDelay    int64      `json:"withdrawal_delay"`
	OldSecretExpiresAt *time.Time `json:"old_secret_expires_at"`
}

// onboard creates a merchant through the ops API and remembers its secrets for the
// suite's secret check.
func onboard(t *testing.T, s *Stack, body string) opsMerchant {
	t.Helper()
	r, err := s.Ops(context.Background(), "POST", "/v1/ops/merchants", body)
	require.NoError(t, err)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	var m opsMerchant
	require.NoError(t, json.Unmarshal(r.Body, &m))
	rememberSecret(m.ID, m.Secret, false)
	rememberSecret(m.ID, m.WebhookSecret, false)
	return m
}

// An operator onboards a merchant whose secret signs its payments at once and whose
// settings (fee, review threshold) apply to its flows; the demo merchant cannot see
// its objects; its secret is rotated with an overlap during which both secrets work,
// after which only the new one does; every act is in the audit log.
func TestOpsMerchantsEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		m := onboard(t, s, `{"name":"E2E Tea","review_threshold":1000,"fee_bps":100,"withdrawal_delay":0}`)
		c := s.ClientFor(0, m.ID, m.Secret)

		r, err := c.Post(ctx, "/v1/payments", card(1050, "tok_success"), "e2e-"+models.NewID(""))
		require.NoError(t, err)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		_, last, err := c.WaitStatus(wctx, "/v1/payments/"+p.ID, 200*time.Millisecond, "processing")
		require.NoError(t, err)
		require.NoError(t, last.JSON(&p))
		require.Equal(t, models.PaymentSucceeded, p.Status)
		require.Positive(t, p.Fee, "the merchant's fee_bps applies")

		r, err = s.Client(0).Get(ctx, "/v1/payments/"+p.ID)
		require.NoError(t, err)
		require.Equal(t, 404, r.Status, "another merchant's payment")

		// The review threshold applies to its withdrawals.
		wallet := fundedWalletOf(t, c, 5000)
		wdStatus, wd := postWithdrawal(t, c, wallet.ID, "e2e-"+models.NewID(""), 2000)
		require.Equal(t, 202, wdStatus, "%v", wd)
		wdID, _ := wd["id"].(string)
		o, _, err := c.WaitStatus(wctx, "/v1/withdrawals/"+wdID, 200*time.Millisecond, "processing")
		require.NoError(t, err)
		require.Equal(t, "pending_approval", o.Status, "2000 is over the merchant's review threshold of 1000")
		r, err = s.Ops(ctx, "POST", "/v1/ops/withdrawals/"+wdID+"/reject", `{"reason":"e2e: not needed"}`)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)

		// Rotation with a short overlap.
		r, err = s.Ops(ctx, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-secret", `{"overlap_seconds":3}`)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var rot struct {
			Secret             string    `json:"secret"`
			OldSecretExpiresAt time.Time `json:"old_secret_expires_at"`
		}
		require.NoError(t, json.Unmarshal(r.Body, &rot))
		rememberSecret(m.ID, rot.Secret, true)
		oldC, newC := c, s.ClientFor(0, m.ID, rot.Secret)
		status := func(c *client.Client) int {
			r, err := c.Get(ctx, "/v1/payments?limit=1")
			require.NoError(t, err)
			return r.Status
		}
		if time.Now().Before(rot.OldSecretExpiresAt.Add(-time.Second)) {
			require.Equal(t, 200, status(oldC), "the previous secret during the overlap")
		}
		require.Equal(t, 200, status(newC))
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, 401, status(oldC), "the previous secret after the overlap")
		}, 20*time.Second, 250*time.Millisecond)
		require.Equal(t, 200, status(newC))

		r, err = s.Ops(ctx, "GET", "/v1/ops/merchants/"+m.ID, "")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status)
		require.NotContains(t, string(r.Body), m.Secret)
		require.NotContains(t, string(r.Body), rot.Secret)

		r, err = s.Ops(ctx, "GET", "/v1/ops/audit?target="+m.ID, "")
		require.NoError(t, err)
		var audit struct{ Data []models.AuditEntry }
		require.NoError(t, json.Unmarshal(r.Body, &audit))
		require.Len(t, audit.Data, 2)
		require.Equal(t, "merchant.rotate_secret", audit.Data[0].Action)
		require.Equal(t, "merchant.create", audit.Data[1].Action)
	})
}

// The per-merchant budget on the real processes, shared by two API replicas: a stack
// of its own with a small budget (5 requests per second, bursts of 10) and two API
// processes. A merchant sending to both replicas at once gets its burst once between
// them (not once per replica), then 429 rate_limited with Retry-After; another
// merchant is not affected.
func TestRateLimitAcrossReplicasEndToEnd(t *testing.T) {
	ctx := context.Background()
	// Not t.TempDir: the suite's secret check reads the database after the test.
	dir := filepath.Join(workDir, "ratelimit")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	s, err := StartStack(ctx, StackOptions{
		Name: "ratelimit", Bin: payflowBin, Temporal: temporal.Addr, Backend: testenv.SQLite, WorkDir: dir, Out: logFile,
		StripeMockBin: stripeMockBin, Validator: apiContract, APIs: 2,
		Env: map[string]string{"PAYFLOW_RATE_LIMIT_RPS": "5", "PAYFLOW_RATE_LIMIT_BURST": "10"},
	})
	require.NoError(t, err)
	extraStacks.Lock()
	extraStacks.list = append(extraStacks.list, s)
	extraStacks.Unlock()
	t.Cleanup(s.Stop)

	m := onboard(t, s, `{"name":"E2E Flood"}`)
	clients := []*client.Client{s.ClientFor(0, m.ID, m.Secret), s.ClientFor(1, m.ID, m.Secret)}
	var ok, limited atomic.Int64
	var retryAfter atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				r, err := clients[w%2].Get(ctx, "/v1/payments?limit=1")
				if err != nil {
					t.Error(err)
					return
				}
				switch r.Status {
				case http.StatusOK:
					ok.Add(1)
				case http.StatusTooManyRequests:
					var p struct{ Code string }
					_ = r.JSON(&p)
					if p.Code != "rate_limited" {
						t.Errorf("429 with code %q", p.Code)
					}
					retryAfter.Store(r.Header.Get("Retry-After"))
					limited.Add(1)
				default:
					t.Errorf("HTTP %d: %s", r.Status, r.Body)
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	// The burst, plus what refilled while the 40 requests went out, once for both
	// replicas.
	allowed := 10 + int64(5*elapsed.Seconds()) + 1
	require.GreaterOrEqual(t, ok.Load(), int64(10), "the burst is granted")
	require.LessOrEqual(t, ok.Load(), allowed, "%d requests passed in %s: the budget is not shared by the replicas", ok.Load(), elapsed)
	require.Positive(t, limited.Load())
	wait, err := strconv.Atoi(fmt.Sprint(retryAfter.Load()))
	require.NoError(t, err)
	require.GreaterOrEqual(t, wait, 1)
	// Another merchant's budget is its own.
	for i := range clients {
		r, err := s.Client(i).Get(ctx, "/v1/payments?limit=1")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status)
	}
}
