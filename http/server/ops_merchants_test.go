package server_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/models"
)

type createdMerchant struct {
	ID                 string     `json:"id"`
	Object             string     `json:"object"`
	Name               string     `json:"name"`
	Status             string     `json:"status"`
	FeeBps             int64      `json:"fee_bps"`
	ReviewThreshold    int64      `json:"review_threshold"`
	DefaultCurrency    string     `json:"default_currency"`
	NotifyURL          string     `json:"notify_url"`
	Secret             string     `json:"secret"`
	WebhookSecret      string     `json:"webhook_secret"`
	OldSecretExpiresAt *time.Time `json:"old_secret_expires_at"`
}

func (a *api) createMerchant(t *testing.T, body string) createdMerchant {
	t.Helper()
	status, _, b := a.ops(t, "POST", "/v1/ops/merchants", body)
	require.Equal(t, 201, status, "%s", b)
	var m createdMerchant
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func (a *api) rotate(t *testing.T, id, body string) (string, time.Time) {
	t.Helper()
	status, _, b := a.ops(t, "POST", "/v1/ops/merchants/"+id+"/rotate-secret", body)
	require.Equal(t, 200, status, "%s", b)
	var r struct {
		Secret             string    `json:"secret"`
		OldSecretExpiresAt time.Time `json:"old_secret_expires_at"`
	}
	require.NoError(t, json.Unmarshal(b, &r))
	return r.Secret, r.OldSecretExpiresAt
}

// An operator onboards a merchant: the secret is shown once and signs its requests;
// the merchant's settings apply (its default notify_url); GET never shows a secret;
// every act is audited.
func TestOpsCreateMerchant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		m := a.createMerchant(t, `{"name":"Acme Tea","review_threshold":5000,"fee_bps":120,"default_currency":"USD","notify_url":"https://acme.example/hooks"}`)
		require.True(t, models.ValidID(models.PrefixMerchant, m.ID), m.ID)
		require.Equal(t, "merchant", m.Object)
		require.Equal(t, "active", m.Status)
		require.Equal(t, int64(120), m.FeeBps)
		require.Equal(t, int64(5000), m.ReviewThreshold)
		require.Equal(t, "USD", m.DefaultCurrency)
		require.Regexp(t, `^pfsk_[0-9a-f]{64}$`, m.Secret)
		require.Regexp(t, `^whsec_[0-9a-f]{64}$`, m.WebhookSecret, "the webhook signing secret is shown once, here")
		secrets, err := a.store.WebhookSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{m.WebhookSecret}, secrets, "its webhooks are signed with it alone")

		c := a.merchantClient(m.ID, m.Secret)
		r, err := c.Post(ctx, "/v1/payments", map[string]any{"amount": 1050, "currency": "USD", "source": map[string]any{"type": "card", "token": "tok_success"}}, "acme-1")
		require.NoError(t, err)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		require.Equal(t, m.ID, p.MerchantID)
		require.Equal(t, "https://acme.example/hooks", p.NotifyURL, "the merchant's default notify_url")
		r, err = c.Post(ctx, "/v1/payments", map[string]any{"amount": 1050, "currency": "USD", "source": map[string]any{"type": "card", "token": "tok_success"}, "notify_url": "https://acme.example/other"}, "acme-2")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&p))
		require.Equal(t, "https://acme.example/other", p.NotifyURL, "the request's own notify_url wins")

		status, _, body := a.ops(t, "GET", "/v1/ops/merchants/"+m.ID, "")
		require.Equal(t, 200, status)
		var fields map[string]any
		require.NoError(t, json.Unmarshal(body, &fields))
		for k := range fields {
			require.NotContains(t, k, "secret", "GET shows no secret (webhook_signing only names which one signs)")
		}
		require.NotContains(t, string(body), m.Secret)
		require.NotContains(t, string(body), m.WebhookSecret)
		var got createdMerchant
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, "Acme Tea", got.Name)
		require.Nil(t, got.OldSecretExpiresAt)

		// Defaults: CNY, no fee, review above 10000.00 CNY.
		d := a.createMerchant(t, `{"name":"Plain"}`)
		require.Equal(t, "CNY", d.DefaultCurrency)
		require.Zero(t, d.FeeBps)
		require.Equal(t, int64(1_000_000), d.ReviewThreshold)
		require.Empty(t, d.NotifyURL)
		require.NotEqual(t, m.Secret, d.Secret)
		require.NotEqual(t, m.WebhookSecret, d.WebhookSecret)

		audit := a.auditOf(t, m.ID)
		require.Len(t, audit, 1)
		require.Equal(t, "merchant.create", audit[0].Action)
		require.Equal(t, "accepted", audit[0].Result)
		require.True(t, strings.HasPrefix(audit[0].Operator, "ops-token-"))

		a.requireNoSecretAtRest(t, m.Secret, d.Secret, m.WebhookSecret, d.WebhookSecret)
	})
}

// A webhook secret rotation answers the new whsec_ secret once; webhooks are signed
// with both until the overlap ends, and the API secret is untouched; refusals change
// nothing; every act is audited, no secret stored or logged in clear.
func TestOpsRotateWebhookSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		m := a.createMerchant(t, `{"name":"Hooks"}`)
		before := time.Now()
		status, _, body := a.ops(t, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-webhook-secret", "")
		require.Equal(t, 200, status, "%s", body)
		var r struct {
			ID                        string    `json:"id"`
			Object                    string    `json:"object"`
			WebhookSecret             string    `json:"webhook_secret"`
			OldWebhookSecretExpiresAt time.Time `json:"old_webhook_secret_expires_at"`
		}
		require.NoError(t, json.Unmarshal(body, &r))
		require.Equal(t, m.ID, r.ID)
		require.Equal(t, "merchant_webhook_secret", r.Object)
		require.Regexp(t, `^whsec_[0-9a-f]{64}$`, r.WebhookSecret)
		require.WithinDuration(t, before.Add(24*time.Hour), r.OldWebhookSecretExpiresAt, 5*time.Second, "the default overlap is a day")
		secrets, err := a.store.WebhookSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{r.WebhookSecret, m.WebhookSecret}, secrets, "newest first, both during the overlap")
		got, err := a.merchantClient(m.ID, m.Secret).Get(ctx, "/v1/payments")
		require.NoError(t, err)
		require.Equal(t, 200, got.Status, "the API secret is not rotated")

		for _, bad := range []string{`{"overlap_seconds":-1}`, `{"overlap_seconds":2592001}`, `{"secret":"x"}`} {
			status, _, body := a.ops(t, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-webhook-secret", bad)
			require.Equal(t, 400, status, "%s: %s", bad, body)
		}
		status, _, _ = a.ops(t, "POST", "/v1/ops/merchants/mch_nobody/rotate-webhook-secret", "")
		require.Equal(t, 404, status)

		status, _, body = a.ops(t, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-webhook-secret", `{"overlap_seconds":0}`)
		require.Equal(t, 200, status, "%s", body)
		var r2 struct {
			WebhookSecret string `json:"webhook_secret"`
		}
		require.NoError(t, json.Unmarshal(body, &r2))
		secrets, err = a.store.WebhookSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{r2.WebhookSecret}, secrets, "after the overlap only the new one")

		audit := a.auditOf(t, m.ID)
		require.Len(t, audit, 3)
		require.Equal(t, "merchant.rotate_webhook_secret", audit[0].Action)
		require.Equal(t, "accepted", audit[0].Result)
		a.requireNoSecretAtRest(t, m.Secret, m.WebhookSecret, r.WebhookSecret, r2.WebhookSecret)
	})
}

// GET merchant says which secret signs its webhooks: a merchant created before webhook
// secrets (none stored) still has them signed with its API secret until its first
// webhook-secret rotation; a merchant created now has its own webhook secret.
func TestOpsMerchantWebhookSigning(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		signing := func(id string) string {
			t.Helper()
			status, _, body := a.ops(t, "GET", "/v1/ops/merchants/"+id, "")
			require.Equal(t, 200, status, "%s", body)
			var m struct {
				WebhookSigning *string `json:"webhook_signing"`
			}
			require.NoError(t, json.Unmarshal(body, &m))
			require.NotNil(t, m.WebhookSigning, "no webhook_signing in %s", body)
			return *m.WebhookSigning
		}

		// As migration 00045 left the merchants that existed before it: no webhook secret.
		old := models.Merchant{ID: "mch_before_webhook_secrets", Name: "Old Tea", DefaultCurrency: "CNY", Status: models.MerchantActive}
		require.NoError(t, a.store.CreateMerchant(ctx, old, "pfsk_"+strings.Repeat("0", 64), ""))
		secrets, err := a.store.WebhookSecrets(ctx, old.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"pfsk_" + strings.Repeat("0", 64)}, secrets, "its webhooks are signed with its API secret")
		require.Equal(t, "api_secret", signing(old.ID))

		status, _, body := a.ops(t, "POST", "/v1/ops/merchants/"+old.ID+"/rotate-webhook-secret", "")
		require.Equal(t, 200, status, "%s", body)
		require.Equal(t, "webhook_secret", signing(old.ID), "after its first webhook-secret rotation")

		m := a.createMerchant(t, `{"name":"New Tea"}`)
		require.Equal(t, "webhook_secret", signing(m.ID))
		status, _, body = a.ops(t, "POST", "/v1/ops/merchants", `{"name":"Shown at creation"}`)
		require.Equal(t, 201, status, "%s", body)
		require.Contains(t, string(body), `"webhook_signing":"webhook_secret"`, "the creation answer says it too")
	})
}

// Bad onboarding requests are refused and create nothing.
func TestOpsCreateMerchantRefusals(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{}`, 400, "invalid_request"},
		{`{"name":"   "}`, 400, "invalid_request"},
		{`{"name":"x","secret":"mine"}`, 400, "invalid_request"},
		{`{"name":"x","fee_bps":10001}`, 422, "invalid_fee"},
		{`{"name":"x","fee_bps":-1}`, 422, "invalid_fee"},
		{`{"name":"x","fee_bps":1.5}`, 400, "invalid_request"},
		{`{"name":"x","review_threshold":-1}`, 422, "invalid_amount"},
		{`{"name":"x","review_threshold":10000000000001}`, 422, "invalid_amount"},
		{`{"name":"x","default_currency":"usd"}`, 422, "unsupported_currency"},
		{`{"name":"x","notify_url":"ftp://x"}`, 422, "invalid_notify_url"},
		{`{"name":"x","notify_url":"https://user:pw@x.example/"}`, 422, "invalid_notify_url"},
		{`{"name":"x","name":"y"}`, 400, "invalid_request"},
		{``, 400, "invalid_request"},
	}
	for _, tc := range tests {
		status, h, body := a.ops(t, "POST", "/v1/ops/merchants", tc.body)
		require.Equal(t, tc.status, status, "%s: %s", tc.body, body)
		require.Equal(t, "application/problem+json", h.Get("Content-Type"))
		var p problemBody
		require.NoError(t, json.Unmarshal(body, &p))
		require.Equal(t, tc.code, p.Code, tc.body)
	}
	var n int64
	require.NoError(t, a.db.Table("merchants").Count(&n).Error)
	require.Equal(t, int64(2), n, "a refused request created a merchant")
	status, _, _ := a.ops(t, "GET", "/v1/ops/merchants/mch_nobody", "")
	require.Equal(t, 404, status)
	status, _, _ = a.ops(t, "GET", "/v1/ops/merchants/not-a-merchant", "")
	require.Equal(t, 404, status)
	status, _, _ = a.ops(t, "POST", "/v1/ops/merchants/mch_nobody/rotate-secret", "")
	require.Equal(t, 404, status)
	// A merchant signature does not open the ops API.
	r, err := a.c.Post(context.Background(), "/v1/ops/merchants", map[string]any{"name": "x"}, "k")
	require.NoError(t, err)
	require.Equal(t, 401, r.Status)
}

// A rotation keeps the previous secret valid until its overlap ends; both sign; the
// new secret is the only one after; a second rotation retires the older secret.
func TestOpsRotateSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		m := a.createMerchant(t, `{"name":"Rotor"}`)
		get := func(secret string) int {
			t.Helper()
			r, err := a.merchantClient(m.ID, secret).Get(ctx, "/v1/payments")
			require.NoError(t, err)
			return r.Status
		}
		before := time.Now()
		s2, expires := a.rotate(t, m.ID, "")
		require.NotEqual(t, m.Secret, s2)
		require.WithinDuration(t, before.Add(24*time.Hour), expires, 5*time.Second, "the default overlap is a day")
		require.Equal(t, 200, get(m.Secret), "the previous secret is valid during the overlap")
		require.Equal(t, 200, get(s2))
		status, _, body := a.ops(t, "GET", "/v1/ops/merchants/"+m.ID, "")
		require.Equal(t, 200, status)
		var got createdMerchant
		require.NoError(t, json.Unmarshal(body, &got))
		require.NotNil(t, got.OldSecretExpiresAt)
		require.WithinDuration(t, expires, *got.OldSecretExpiresAt, time.Millisecond)

		// A second rotation retires the oldest secret at once.
		s3, _ := a.rotate(t, m.ID, `{"overlap_seconds":3600}`)
		require.Equal(t, 401, get(m.Secret), "only two secrets are ever valid")
		require.Equal(t, 200, get(s2))
		require.Equal(t, 200, get(s3))

		// No overlap: the previous secret ends now.
		s4, _ := a.rotate(t, m.ID, `{"overlap_seconds":0}`)
		require.Equal(t, 401, get(s3))
		require.Equal(t, 401, get(s2))
		require.Equal(t, 200, get(s4))

		for _, bad := range []string{`{"overlap_seconds":-1}`, `{"overlap_seconds":2592001}`, `{"overlap":1}`, `{"overlap_seconds":null}`} {
			status, _, body := a.ops(t, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-secret", bad)
			require.Equal(t, 400, status, "%s: %s", bad, body)
		}
		require.Equal(t, 200, get(s4), "a refused rotation changed nothing")

		audit := a.auditOf(t, m.ID)
		require.Len(t, audit, 4)
		require.Equal(t, "merchant.rotate_secret", audit[0].Action)
		require.Equal(t, "merchant.create", audit[3].Action)
		for _, e := range audit {
			for _, s := range []string{m.Secret, s2, s3, s4} {
				require.NotContains(t, e.Detail+e.Reason, s)
			}
		}
		a.requireNoSecretAtRest(t, m.Secret, s2, s3, s4)

		// The previous secret is purged from the database once its overlap ended.
		_, _ = a.rotate(t, m.ID, `{"overlap_seconds":1}`)
		n, err := a.store.PurgeExpiredSecrets(ctx, time.Now().Add(2*time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
		var old sql.NullString
		require.NoError(t, a.db.Raw("SELECT old_secret_enc FROM merchants WHERE id = ?", m.ID).Scan(&old).Error)
		require.Empty(t, old.String)
	})
}

// Concurrent rotations of one merchant: each answer's secret is valid afterwards or
// the rotation was refused with 409; never a secret handed out and silently lost.
func TestOpsConcurrentRotations(t *testing.T) {
	a := newAPI(t, testenv.MySQL)
	m := a.createMerchant(t, `{"name":"Race"}`)
	type result struct {
		status int
		secret string
	}
	results := make(chan result, 6)
	for i := 0; i < 6; i++ {
		go func() {
			status, _, b := a.ops(t, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-secret", `{"overlap_seconds":600}`)
			var r struct{ Secret string }
			_ = json.Unmarshal(b, &r)
			results <- result{status, r.Secret}
		}()
	}
	var won []string
	for i := 0; i < 6; i++ {
		r := <-results
		switch r.status {
		case 200:
			won = append(won, r.secret)
		case 409:
		default:
			t.Fatalf("rotation answered %d", r.status)
		}
	}
	require.NotEmpty(t, won)
	secrets, err := a.store.MerchantSecrets(context.Background(), m.ID)
	require.NoError(t, err)
	require.Contains(t, won, secrets[0], "the current secret is one that was handed out")
}

// auditOf lists the audit log of one target, newest first.
func (a *api) auditOf(t *testing.T, target string) []models.AuditEntry {
	t.Helper()
	status, _, body := a.ops(t, "GET", "/v1/ops/audit?target="+target, "")
	require.Equal(t, 200, status, "%s", body)
	var out struct{ Data []models.AuditEntry }
	require.NoError(t, json.Unmarshal(body, &out))
	return out.Data
}

// requireNoSecretAtRest checks that no row of any table and no log line holds one of
// the secrets in clear.
func (a *api) requireNoSecretAtRest(t *testing.T, secrets ...string) {
	t.Helper()
	dump, err := testenv.DumpTables(context.Background(), a.db)
	require.NoError(t, err)
	require.Contains(t, dump, "mch_demo", "the dump reads the merchants table")
	logs := a.logs()
	for _, s := range secrets {
		require.NotContains(t, dump, s, "a secret in clear in the database")
		require.NotContains(t, logs, s, "a secret in clear in the logs")
	}
	require.NotContains(t, dump, secret)
	require.NotContains(t, logs, secret)
}
