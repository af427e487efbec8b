package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82/webhook"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/harness/contract"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// callbackObject is an object waiting on its bank, as the API would have stored it.
type callbackObject struct {
	id, workflowID string
}

// insertPayment stores a processing card payment of the demo merchant on channel.
func (a *api) insertPayment(t *testing.T, channel string) callbackObject {
	t.Helper()
	now := time.Now()
	p := models.Payment{
		ID: models.NewID(models.PrefixPayment), MerchantID: "mch_demo", Amount: 1050, Currency: "CNY",
		Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_processing"}, Channel: channel,
		Status: models.PaymentProcessing, CreatedAt: now, UpdatedAt: now,
	}
	p.WorkflowID = "payment/mch_demo/" + p.ID
	require.NoError(t, a.store.DB().Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }))
	return callbackObject{id: p.ID, workflowID: p.WorkflowID}
}

// insertWithdrawal stores a processing withdrawal of the demo merchant on channel
// (its hold is not the point here).
func (a *api) insertWithdrawal(t *testing.T, channel string) callbackObject {
	t.Helper()
	now := time.Now()
	w := models.Withdrawal{
		ID: models.NewID(models.PrefixWithdrawal), MerchantID: "mch_demo", AccountID: "acct_x", Amount: 5000, Currency: "CNY",
		Destination: models.Destination{BankAccount: "ba_processing"}, Channel: channel, Status: models.WithdrawalProcessing,
		CreatedAt: now, UpdatedAt: now,
	}
	w.WorkflowID = "withdrawal/mch_demo/" + w.ID
	require.NoError(t, a.store.DB().Transaction(func(tx *gorm.DB) error { return store.InsertWithdrawal(tx, w) }))
	return callbackObject{id: w.ID, workflowID: w.WorkflowID}
}

// banksimBody is a banksim callback about reference.
func banksimBody(reference, kind, status, eventID string) string {
	return fmt.Sprintf(`{"reference":%q,"kind":%q,"amount":1050,"currency":"CNY","status":%q,"failure_code":"","bank_id":"bk_1","event_id":%q}`,
		reference, kind, status, eventID)
}

// signBanksim is the X-Banksim-Signature of body with secret at t.
func signBanksim(secret, body string, at time.Time) string {
	return signing.SignWebhook(secret, at.Unix(), []byte(body))
}

// stripeEvent is a Stripe event of type typ whose object (of kind object, with
// status) carries reference in its metadata ("" carries none).
func stripeEvent(id, typ, object, status, reference string) string {
	meta := `{}`
	if reference != "" {
		meta = fmt.Sprintf(`{"reference":%q}`, reference)
	}
	return fmt.Sprintf(`{"id":%q,"object":"event","api_version":"2019-02-19","created":1767225600,"livemode":false,"type":%q,`+
		`"data":{"object":{"id":"obj_1","object":%q,"amount":1050,"currency":"cny","status":%q,"metadata":%s}}}`,
		id, typ, object, status, meta)
}

// signStripe is the Stripe-Signature of body with secret at t, as Stripe computes it.
func signStripe(secret, body string, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret, Timestamp: at}).Header
}

// postCallback posts body to path with the signature header (none when sig is ""),
// and returns the status and, for a problem, its code.
func (a *api) postCallback(t *testing.T, ctx context.Context, path, header, sig, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", a.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(header, sig)
	}
	resp, b := apitest.Send(t, a.http, req)
	code := ""
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p problemBody
		require.NoError(t, json.Unmarshal(b, &p))
		code = p.Code
	}
	return resp.StatusCode, code
}

func (a *api) banksimCallback(t *testing.T, sig, body string) (int, string) {
	t.Helper()
	return a.postCallback(t, context.Background(), "/v1/callbacks/banksim", callbacks.BanksimSignatureHeader, sig, body)
}

func (a *api) stripeCallback(t *testing.T, sig, body string) (int, string) {
	t.Helper()
	return a.postCallback(t, context.Background(), "/v1/callbacks/stripe", callbacks.StripeSignatureHeader, sig, body)
}

// A channel's callback route exists only when the channel is configured (and, for
// Stripe, its webhook secret is set); any other path under /v1/callbacks/ is a 404
// problem. A mounted route answers an unsigned callback 401.
func TestCallbackRoutesOnlyForConfiguredChannels(t *testing.T) {
	tests := []struct {
		name     string
		channels []string
		secrets  callbacks.Secrets
		mounted  []string
	}{
		{"banksim and stripe with its webhook secret", []string{"auto", "banksim", "stripe"},
			callbacks.Secrets{Banksim: banksimSecret, StripeWebhook: stripeWebhookSecret}, []string{"banksim", "stripe"}},
		{"stripe only (the chart's production values)", []string{"auto", "stripe"},
			callbacks.Secrets{Banksim: "banksim_callback_secret", StripeWebhook: stripeWebhookSecret}, []string{"stripe"}},
		{"stripe without a webhook secret", []string{"auto", "banksim", "stripe"},
			callbacks.Secrets{Banksim: banksimSecret}, []string{"banksim"}},
		{"stripe alone without a webhook secret", []string{"auto", "stripe"}, callbacks.Secrets{Banksim: banksimSecret}, nil},
		{"one wallet provider", []string{"alipaysim", "auto", "stripe"},
			callbacks.Secrets{StripeWebhook: stripeWebhookSecret, Wallets: map[string]string{"alipaysim": "a", "wxpaysim": "w"}}, []string{"alipaysim", "stripe"}},
		{"both wallet providers", []string{"alipaysim", "auto", "banksim", "wxpaysim"},
			callbacks.Secrets{Banksim: banksimSecret, Wallets: map[string]string{"alipaysim": "a", "wxpaysim": "w"}}, []string{"alipaysim", "banksim", "wxpaysim"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, testenv.SQLite, func(d *server.Deps) {
				d.Callbacks.Verifiers = callbacks.ForChannels(tc.channels, tc.secrets)
			})
			// The unmounted routes are deliberate probes of what is not served.
			probe := contract.Probing(context.Background())
			for _, ch := range []string{"banksim", "stripe", "alipaysim", "wxpaysim", "bureau"} {
				want := 404
				for _, m := range tc.mounted {
					// The bureau's callbacks are signed with the banksim secret and
					// served with the banksim route.
					if m == ch || (ch == "bureau" && m == "banksim") {
						want = 401
					}
				}
				status, code := a.postCallback(t, probe, "/v1/callbacks/"+ch, "", "", `{}`)
				require.Equal(t, want, status, ch)
				if want == 404 {
					require.Equal(t, "not_found", code, ch)
				}
			}
			for _, path := range []string{"/v1/callbacks/paypal", "/v1/callbacks/auto", "/v1/callbacks/", "/v1/callbacks/banksim/x", "/v1/callbacks/BANKSIM"} {
				status, code := a.postCallback(t, probe, path, "", "", `{}`)
				require.Equal(t, 404, status, path)
				require.Equal(t, "not_found", code, path)
			}
			require.Empty(t, a.starter.signalled())
		})
	}
}

// A banksim callback not signed with the banksim secret, now, over this body is
// refused 401 signature_invalid and wakes nothing.
func TestBanksimCallbackSignature(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	p := a.insertPayment(t, "banksim")
	body := banksimBody(p.id, "charge", "succeeded", "cbe_sig")
	now := time.Now()
	tests := []struct {
		name string
		sig  string
	}{
		{"unsigned", ""},
		{"another secret", signBanksim("not-the-secret", body, now)},
		{"the Stripe webhook secret", signBanksim(stripeWebhookSecret, body, now)},
		{"the public local default", signBanksim("banksim_callback_secret", body, now)},
		{"six minutes old", signBanksim(banksimSecret, body, now.Add(-6*time.Minute))},
		{"six minutes ahead", signBanksim(banksimSecret, body, now.Add(6*time.Minute))},
		{"another body's signature", signBanksim(banksimSecret, banksimBody(p.id, "charge", "failed", "cbe_sig"), now)},
		{"garbage", "t=abc,v1=zz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, code := a.banksimCallback(t, tc.sig, body)
			require.Equal(t, 401, status)
			require.Equal(t, "signature_invalid", code)
		})
	}
	require.Empty(t, a.starter.signalled())

	status, _ := a.banksimCallback(t, signBanksim(banksimSecret, body, now), body)
	require.Equal(t, 200, status)
	require.Equal(t, []signal{{p.workflowID, models.BankCallback{Reference: p.id, Channel: "banksim", Status: models.BankSucceeded, EventID: "cbe_sig"}}},
		a.starter.signalled())
}

// A callback correctly signed with one channel's secret, about a transfer on another
// channel, wakes nothing (404, as for an unknown reference): with the banksim secret
// a merchant cannot claim "failed" for its own Stripe withdrawal. A transfer on auto
// may be at either channel, so each channel's callback reaches its flow (which
// queries auto, not the callback's channel).
func TestCallbackOnAnotherChannelsRoute(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	now := time.Now()
	tests := []struct {
		name   string
		object func(t *testing.T) callbackObject
		route  string // banksim or stripe
		kind   string // the transfer kind the callback claims
		want   int
	}{
		{"banksim callback for a stripe withdrawal", func(t *testing.T) callbackObject { return a.insertWithdrawal(t, "stripe") }, "banksim", "payout", 404},
		{"banksim callback for a stripe payment", func(t *testing.T) callbackObject { return a.insertPayment(t, "stripe") }, "banksim", "charge", 404},
		{"stripe event for a banksim payment", func(t *testing.T) callbackObject { return a.insertPayment(t, "banksim") }, "stripe", "charge", 404},
		{"stripe event for a banksim withdrawal", func(t *testing.T) callbackObject { return a.insertWithdrawal(t, "banksim") }, "stripe", "payout", 404},
		{"banksim callback for a banksim withdrawal", func(t *testing.T) callbackObject { return a.insertWithdrawal(t, "banksim") }, "banksim", "payout", 200},
		{"banksim callback for an auto payment", func(t *testing.T) callbackObject { return a.insertPayment(t, "auto") }, "banksim", "charge", 200},
		{"stripe event for an auto withdrawal", func(t *testing.T) callbackObject { return a.insertWithdrawal(t, "auto") }, "stripe", "payout", 200},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(a.starter.signalled())
			o := tc.object(t)
			eventID := fmt.Sprintf("evt_route_%d", i)
			var status int
			var code string
			if tc.route == "banksim" {
				body := banksimBody(o.id, tc.kind, "failed", eventID)
				status, code = a.banksimCallback(t, signBanksim(banksimSecret, body, now), body)
			} else {
				body := stripeEvent(eventID, tc.kind+".failed", tc.kind, "failed", o.id)
				status, code = a.stripeCallback(t, signStripe(stripeWebhookSecret, body, now), body)
			}
			require.Equal(t, tc.want, status)
			got := a.starter.signalled()[before:]
			if tc.want == 404 {
				require.Equal(t, "not_found", code)
				require.Empty(t, got, "a callback on another channel's route woke the flow")
				return
			}
			require.Len(t, got, 1)
			require.Equal(t, o.workflowID, got[0].workflowID)
			require.Equal(t, tc.route, got[0].cb.Channel, "the signal names the route's channel")
		})
	}
}

// A Stripe event verified with the endpoint's secret becomes a hint for the flow
// its object's metadata reference names (the event id is Stripe's); events about
// anything else are acknowledged and wake nothing; a bad signature is 401.
// Nothing of the secret or the signature is logged.
func TestStripeWebhookBecomesHint(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	pay := a.insertPayment(t, "stripe")
	wd := a.insertWithdrawal(t, "stripe")
	now := time.Now()
	signed := func(body string) string { return signStripe(stripeWebhookSecret, body, now) }
	tests := []struct {
		name   string
		body   string
		sig    func(body string) string
		status int
		code   string
		want   *signal
	}{
		{"charge succeeded", stripeEvent("evt_ch_ok", "charge.succeeded", "charge", "succeeded", pay.id), signed, 200, "",
			&signal{pay.workflowID, models.BankCallback{Reference: pay.id, Channel: "stripe", Status: models.BankSucceeded, EventID: "evt_ch_ok"}}},
		{"charge failed", stripeEvent("evt_ch_fail", "charge.failed", "charge", "failed", pay.id), signed, 200, "",
			&signal{pay.workflowID, models.BankCallback{Reference: pay.id, Channel: "stripe", Status: models.BankFailed, EventID: "evt_ch_fail"}}},
		{"payout paid", stripeEvent("evt_po_paid", "payout.paid", "payout", "paid", wd.id), signed, 200, "",
			&signal{wd.workflowID, models.BankCallback{Reference: wd.id, Channel: "stripe", Status: models.BankSucceeded, EventID: "evt_po_paid"}}},
		{"the refund of a reversal", stripeEvent("evt_rev", "charge.refund.updated", "refund", "pending", models.ReversalReference(pay.id)), signed, 200, "",
			&signal{pay.workflowID, models.BankCallback{Reference: models.ReversalReference(pay.id), Channel: "stripe", Status: models.BankProcessing, EventID: "evt_rev"}}},
		{"another event type", stripeEvent("evt_cus", "customer.created", "customer", "", pay.id), signed, 200, "", nil},
		{"a dispute", stripeEvent("evt_dp", "charge.dispute.created", "dispute", "needs_response", pay.id), signed, 200, "", nil},
		{"a charge of another integration", stripeEvent("evt_other", "charge.succeeded", "charge", "succeeded", ""), signed, 200, "", nil},
		{"a foreign reference", stripeEvent("evt_foreign", "charge.succeeded", "charge", "succeeded", "order-1234"), signed, 200, "", nil},
		{"an unknown payflow reference", stripeEvent("evt_unknown", "charge.succeeded", "charge", "succeeded", models.NewID(models.PrefixPayment)), signed, 404, "not_found", nil},
		{"unsigned", stripeEvent("evt_u", "charge.failed", "charge", "failed", pay.id), func(string) string { return "" }, 401, "signature_invalid", nil},
		{"another secret", stripeEvent("evt_s", "charge.failed", "charge", "failed", pay.id),
			func(b string) string { return signStripe("whsec_forged", b, now) }, 401, "signature_invalid", nil},
		{"the banksim secret", stripeEvent("evt_b", "charge.failed", "charge", "failed", pay.id),
			func(b string) string { return signStripe(banksimSecret, b, now) }, 401, "signature_invalid", nil},
		{"older than the tolerance", stripeEvent("evt_old", "charge.failed", "charge", "failed", pay.id),
			func(b string) string { return signStripe(stripeWebhookSecret, b, now.Add(-6*time.Minute)) }, 401, "signature_invalid", nil},
		{"another body's signature", stripeEvent("evt_x", "charge.failed", "charge", "failed", pay.id),
			func(string) string {
				return signed(stripeEvent("evt_x", "charge.succeeded", "charge", "succeeded", pay.id))
			}, 401, "signature_invalid", nil},
		{"signed, not an event", `{"reference":"` + pay.id + `","status":"failed","event_id":"x"}`, signed, 400, "invalid_request", nil},
	}
	var sigs []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(a.starter.signalled())
			sig := tc.sig(tc.body)
			if _, v1, ok := strings.Cut(sig, "v1="); ok {
				sigs = append(sigs, v1)
			}
			status, code := a.stripeCallback(t, sig, tc.body)
			require.Equal(t, tc.status, status)
			require.Equal(t, tc.code, code)
			got := a.starter.signalled()[before:]
			if tc.want == nil {
				require.Empty(t, got)
				return
			}
			require.Equal(t, []signal{*tc.want}, got)
		})
	}
	logs := a.logs()
	require.NotContains(t, logs, stripeWebhookSecret)
	require.NotEmpty(t, sigs)
	for _, v1 := range sigs {
		require.NotContains(t, logs, v1, "a signature was logged")
	}
}

// A bank's event is delivered to its flow once, however often (and however
// concurrently) the bank sends it; another event id about the same transfer is
// delivered. A signal that fails is not counted: the bank's retry is delivered.
func TestCallbackEventDeliveredOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		p := a.insertPayment(t, "auto")
		now := time.Now()
		sendBanksim := func(eventID string) int {
			body := banksimBody(p.id, "charge", "succeeded", eventID)
			status, _ := a.banksimCallback(t, signBanksim(banksimSecret, body, now), body)
			return status
		}
		sendStripe := func(eventID string) int {
			body := stripeEvent(eventID, "charge.succeeded", "charge", "succeeded", p.id)
			status, _ := a.stripeCallback(t, signStripe(stripeWebhookSecret, body, now), body)
			return status
		}
		count := func(channel, eventID string) int {
			n := 0
			for _, s := range a.starter.signalled() {
				if s.cb.Channel == channel && s.cb.EventID == eventID {
					n++
				}
			}
			return n
		}

		for range 3 {
			require.Equal(t, 200, sendBanksim("cbe_dup"))
			require.Equal(t, 200, sendStripe("evt_dup"))
		}
		require.Equal(t, 1, count("banksim", "cbe_dup"), "a redelivered banksim event signalled again")
		require.Equal(t, 1, count("stripe", "evt_dup"), "a redelivered Stripe event signalled again")

		// Concurrent deliveries (a bank's retries racing on two replicas): the
		// goroutines only send; the test asserts after they are done.
		concurrent := banksimBody(p.id, "charge", "succeeded", "cbe_concurrent")
		sig := signBanksim(banksimSecret, concurrent, now)
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		errs := make([]error, 8)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest("POST", a.srv.URL+"/v1/callbacks/banksim", strings.NewReader(concurrent))
				if err != nil {
					errs[i] = err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(callbacks.BanksimSignatureHeader, sig)
				resp, err := a.http.Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		require.Equal(t, make([]error, 8), errs)
		require.Equal(t, []int{200, 200, 200, 200, 200, 200, 200, 200}, statuses)
		require.Equal(t, 1, count("banksim", "cbe_concurrent"), "concurrent deliveries of one event")

		require.Equal(t, 200, sendBanksim("cbe_other"))
		require.Equal(t, 1, count("banksim", "cbe_other"), "another event id is another hint")

		a.starter.mu.Lock()
		a.starter.signalErr = errors.New("temporal unavailable")
		a.starter.mu.Unlock()
		require.Equal(t, 503, sendBanksim("cbe_retry"))
		a.starter.mu.Lock()
		a.starter.signalErr = nil
		a.starter.mu.Unlock()
		require.Equal(t, 200, sendBanksim("cbe_retry"))
		require.Equal(t, 1, count("banksim", "cbe_retry"), "the bank's retry after a failed signal is delivered")

		a.starter.mu.Lock()
		a.starter.signalErr = fmt.Errorf("signal: %w", starter.ErrFlowNotFound)
		a.starter.mu.Unlock()
		require.Equal(t, 200, sendBanksim("cbe_late"), "a callback for a finished flow is acknowledged")
		require.Equal(t, 200, sendBanksim("cbe_late"))
	})
}

// A callback writes no bank transfer record, whatever it claims (amount, currency,
// status): the flow's own query of its channel records the transfer.
func TestCallbackWritesNoBankTransfer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		now := time.Now()
		tests := []struct {
			name, route, body string
		}{
			{"banksim succeeded", "banksim", `{"reference":"%s","kind":"charge","amount":1050,"currency":"CNY","status":"succeeded","bank_id":"bk_1","event_id":"cbe_rec_1"}`},
			{"banksim failed with another amount", "banksim", `{"reference":"%s","kind":"charge","amount":1,"currency":"USD","status":"failed","failure_code":"card_declined","event_id":"cbe_rec_2"}`},
			{"stripe succeeded", "stripe", ""},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				p := a.insertPayment(t, "auto")
				var status int
				if tc.route == "banksim" {
					body := fmt.Sprintf(tc.body, p.id)
					status, _ = a.banksimCallback(t, signBanksim(banksimSecret, body, now), body)
				} else {
					body := stripeEvent(fmt.Sprintf("evt_rec_%d", i), "charge.succeeded", "charge", "succeeded", p.id)
					status, _ = a.stripeCallback(t, signStripe(stripeWebhookSecret, body, now), body)
				}
				require.Equal(t, 200, status)
				_, err := a.store.BankTransferByReference(ctx, p.id)
				require.ErrorIs(t, err, store.ErrNotFound, "a callback wrote a bank transfer record")
			})
		}
		require.Len(t, a.starter.signalled(), len(tests), "each callback was still delivered as a hint")
	})
}

// walletNotificationBody is a wallet provider's trade.paid notification about
// reference.
func walletNotificationBody(provider, reference, eventID string) string {
	return fmt.Sprintf(`{"event_id":%q,"event_type":"trade.paid","provider":%q,"trade":{"provider":%q,"trade_no":"t_1",`+
		`"out_trade_no":%q,"mode":"code","amount":1050,"currency":"CNY","status":"SUCCESS","paid_amount":1050}}`,
		eventID, provider, provider, reference)
}

// A wallet provider's notification, signed with that provider's own secret, wakes
// the flow of a payment on that provider, once per event id; signed with another
// secret it is 401, and on the other provider's route it is 404.
func TestWalletNotificationBecomesHint(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	p := a.insertPayment(t, "alipaysim")
	now := time.Now()
	body := walletNotificationBody("alipaysim", p.id, "wne_1")
	post := func(route, secret, body string) (int, string) {
		return a.postCallback(t, context.Background(), "/v1/callbacks/"+route, callbacks.BanksimSignatureHeader,
			signBanksim(secret, body, now), body)
	}

	for _, secret := range []string{banksimSecret, "wxpaysim_notify_secret", "not-the-secret"} {
		status, code := post("alipaysim", secret, body)
		require.Equal(t, 401, status, secret)
		require.Equal(t, "signature_invalid", code, secret)
	}
	wx := walletNotificationBody("wxpaysim", p.id, "wne_2")
	status, code := post("wxpaysim", "wxpaysim_notify_secret", wx)
	require.Equal(t, 404, status, "a payment on alipaysim is not wxpaysim's")
	require.Equal(t, "not_found", code)
	require.Empty(t, a.starter.signalled())

	for range 2 {
		status, _ = post("alipaysim", "alipaysim_notify_secret", body)
		require.Equal(t, 200, status)
	}
	require.Equal(t, []signal{{p.workflowID, models.BankCallback{Reference: p.id, Channel: "alipaysim", Status: models.BankSucceeded, EventID: "wne_1"}}},
		a.starter.signalled())
}

// insertCreditReport stores a credit report of the demo merchant waiting on the
// bureau, as the API would have stored it.
func (a *api) insertCreditReport(t *testing.T) string {
	t.Helper()
	now := time.Now()
	id := models.NewID(models.PrefixCreditReport)
	require.NoError(t, a.store.DB().Transaction(func(tx *gorm.DB) error {
		return a.store.InsertCreditReport(tx, store.NewCreditReport{
			Report: models.CreditReport{
				ID: id, Status: models.CreditReportProcessing, Purpose: "loan_review", Fee: 100, Currency: "CNY", CreatedAt: now,
			},
			MerchantID: "mch_demo", SubjectHash: "h_" + id,
			Subject: models.Subject{Name: "Test Subject", IDNumber: "110101199003070000"},
			Consent: models.Consent{Reference: "consent_1", GrantedAt: now},
		})
	}))
	return id
}

// bureauBody is the bureau's callback that the query requestID is done.
func bureauBody(requestID, status string) string {
	return fmt.Sprintf(`{"type":"credit_query.completed","request_id":%q,"status":%q,"event_id":"cbe_%s"}`, requestID, status, requestID)
}

// The bureau's callback, signed with the banksim secret, wakes the flow of the
// stored report it names; every other answer wakes nothing, and only a Temporal
// that cannot be reached makes the bureau retry.
func TestBureauCallbackWakesReportFlow(t *testing.T) {
	tests := []struct {
		name      string
		signalErr error
		body      func(id string) string
		secret    string
		status    int
		code      string
		woken     bool
	}{
		{"ready", nil, func(id string) string { return bureauBody(id, "ready") }, banksimSecret, 200, "", true},
		{"no record", nil, func(id string) string { return bureauBody(id, "no_record") }, banksimSecret, 200, "", true},
		{"another secret", nil, func(id string) string { return bureauBody(id, "ready") }, "not-the-secret", 401, "signature_invalid", false},
		{"not a completed query", nil, func(id string) string { return bureauBody(id, "processing") }, banksimSecret, 400, "invalid_request", false},
		{"unknown report", nil, func(string) string { return bureauBody("cr_unknown", "ready") }, banksimSecret, 404, "not_found", false},
		{"flow finished", fmt.Errorf("signal: %w", starter.ErrFlowNotFound), func(id string) string { return bureauBody(id, "ready") }, banksimSecret, 200, "", false},
		{"temporal down", errors.New("temporal unavailable"), func(id string) string { return bureauBody(id, "ready") }, banksimSecret, 503, "service_unavailable", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAPI(t, testenv.SQLite)
			a.starter.signalErr = tc.signalErr
			id := a.insertCreditReport(t)
			body := tc.body(id)
			status, code := a.postCallback(t, context.Background(), callbacks.BureauPath, callbacks.BanksimSignatureHeader,
				signBanksim(tc.secret, body, time.Now()), body)
			require.Equal(t, tc.status, status)
			require.Equal(t, tc.code, code)
			var want []string
			if tc.woken {
				want = []string{"credit_report/mch_demo/" + id}
			}
			require.Equal(t, want, recorded(a.starter, &a.starter.bureauSignals))
			require.Empty(t, a.starter.signalled(), "no bank callback")
			// The log names the report, never its subject.
			if tc.status != 400 && tc.status != 401 {
				require.Contains(t, a.logs(), "report_id=")
			}
			require.NotContains(t, a.logs(), "110101199003070000")
			require.NotContains(t, a.logs(), "Test Subject")
		})
	}
}
