package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// The simulator's test identities (banksim/identity.go, banksim/bureau.go).
const (
	cardZhang       = "6222021000000000017" // 张三, ICBC debit, every element matches
	cardLi          = "6222021000000000025" // 李四, ICBC credit
	cardUnknown     = "6222021000000000033" // a card the bank does not verify or bind
	cardZhangSlow   = "6222021000000000041" // 张三: the bank executes, then its answer times out
	cardWang        = "6228480000000000059" // 王五: the SMS code arrives 2 s late
	idZhang         = "110105199003070017"
	idLi            = "310115198512240024"
	idWang          = "440304199208150038"
	idZhao          = "11010519900307005X" // 赵六: the bureau has no record
	phoneZhang      = "13800138000"
	phoneLi         = "13900139000"
	phoneWang       = "13700137000"
	bankICBC        = "Industrial and Commercial Bank of China"
	verificationFee = int64(models.DefaultVerificationFee)
	cachedFee       = int64(models.DefaultVerificationCachedFee)
	reportFee       = int64(models.DefaultCreditReportFee)
)

// eachStackInParallel runs fn on every stack at once, as parallel subtests. They
// start when the calling test's function returns: it must be the test's last call.
func eachStackInParallel(t *testing.T, fn func(t *testing.T, s *Stack)) {
	for _, s := range stacks {
		t.Run(s.Opts.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, s)
		})
	}
}

// idMerchant is a merchant of its own for an identity test, with its client.
type idMerchant struct {
	ID string
	C  *client.Client
}

// identityMerchant onboards a merchant (withdrawals without delay) and, when fund is
// positive, pays it fund by card, so that its settlement balance pays for the
// identity services.
func identityMerchant(t *testing.T, s *Stack, fund int64) idMerchant {
	t.Helper()
	m := onboard(t, s, `{"name":"E2E Identity","withdrawal_delay":0}`)
	im := idMerchant{ID: m.ID, C: s.ClientFor(0, m.ID, m.Secret)}
	if fund > 0 {
		r, err := im.C.Post(context.Background(), "/v1/payments", card(fund, "tok_success"), "e2e-"+models.NewID(""))
		require.NoError(t, err)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		require.Equal(t, "succeeded", im.wait(t, "/v1/payments/"+p.ID, "processing").Status)
	}
	return im
}

// wait polls target until its status leaves pending (30 s at most).
func (m idMerchant) wait(t *testing.T, target string, pending ...string) client.Object {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o, _, err := m.C.WaitStatus(ctx, target, 200*time.Millisecond, pending...)
	require.NoError(t, err)
	return o
}

func (m idMerchant) post(t *testing.T, target string, body any, key string) *client.Response {
	t.Helper()
	if key == "" {
		key = "e2e-" + models.NewID("")
	}
	r, err := m.C.Post(context.Background(), target, body, key)
	require.NoError(t, err)
	return r
}

func (m idMerchant) get(t *testing.T, target string, into any) {
	t.Helper()
	r, err := m.C.Get(context.Background(), target)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "GET %s: %s", target, r.Body)
	require.NoError(t, r.JSON(into))
}

// problemCode is the code of a problem answer.
func problemCode(t *testing.T, r *client.Response) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	require.NoError(t, r.JSON(&p), "%s", r.Body)
	return p.Code
}

// element builds a request's identity elements ("" leaves one out).
func elements(cardNumber, name, idNumber, phone string) map[string]any {
	m := map[string]any{"card_number": cardNumber, "name": name}
	if idNumber != "" {
		m["id_number"] = idNumber
	}
	if phone != "" {
		m["phone"] = phone
	}
	return m
}

func verificationBody(cardNumber, name, idNumber, phone string) map[string]any {
	b := elements(cardNumber, name, idNumber, phone)
	b["type"] = "bank_card"
	return b
}

// verify posts a verification and expects its answer (200).
func (m idMerchant) verify(t *testing.T, body map[string]any, key string) (models.Verification, *client.Response) {
	t.Helper()
	r := m.post(t, "/v1/verifications", body, key)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var v models.Verification
	require.NoError(t, r.JSON(&v))
	return v, r
}

// feeLine is what the ledger booked as fees for one identity object.
type feeLine struct {
	Journals int
	Fee      int64
}

// identityFees reads the ledger: per object of the merchant's flow, its journals and
// what they credited to the fees account.
func identityFees(t *testing.T, s *Stack, merchantID string, flow models.Flow) map[string]feeLine {
	t.Helper()
	db, err := store.Open(s.DSN, 2)
	require.NoError(t, err)
	defer db.Close()
	var journals []struct {
		FlowID string
		N      int
	}
	require.NoError(t, db.Raw(`SELECT flow_id, COUNT(*) AS n FROM journals WHERE merchant_id = ? AND flow = ? GROUP BY flow_id`,
		merchantID, string(flow)).Scan(&journals).Error)
	var fees []struct {
		FlowID string
		Fee    int64
	}
	require.NoError(t, db.Raw(`SELECT j.flow_id, SUM(e.amount) AS fee FROM journals j
		JOIN entries e ON e.journal_id = j.id JOIN accounts a ON a.id = e.account_id
		WHERE j.merchant_id = ? AND j.flow = ? AND a.kind = 'fees' GROUP BY j.flow_id`,
		merchantID, string(flow)).Scan(&fees).Error)
	out := map[string]feeLine{}
	for _, j := range journals {
		l := out[j.FlowID]
		l.Journals = j.N
		out[j.FlowID] = l
	}
	for _, f := range fees {
		l := out[f.FlowID]
		l.Fee = f.Fee
		out[f.FlowID] = l
	}
	return out
}

// requireBilledOnce checks that the ledger billed each object its own fee in one
// journal (none for a fee of 0) and nothing else, and answers the total.
func requireBilledOnce(t *testing.T, s *Stack, merchantID string, flow models.Flow, fees map[string]int64) int64 {
	t.Helper()
	want := map[string]feeLine{}
	var total int64
	for id, fee := range fees {
		if fee > 0 {
			want[id] = feeLine{Journals: 1, Fee: fee}
		}
		total += fee
	}
	require.Equal(t, want, identityFees(t, s, merchantID, flow), "the %s fees in the ledger", flow)
	return total
}

// Verifications through the API: malformed elements refused before anything is
// asked or billed; a 4-element match, a mismatch naming its fields, a card the bank
// does not know; the same elements again answered from the cache (the bank not
// asked, the cached fee); a retry with the Idempotency-Key answering the same
// verification; a bank that times out after answering asked again under the same id
// (executed once). Each verification is billed exactly once, its own fee; a merchant
// without settlement money gets insufficient_funds and the bank is never asked.
func TestIdentityVerifications(t *testing.T) {
	identityWrote.Store("verifications", true)
	eachStackInParallel(t, func(t *testing.T, s *Stack) {
		m := identityMerchant(t, s, 20000)

		for _, tc := range []struct {
			name string
			body map[string]any
			code string
		}{
			{"bad Luhn digit", verificationBody("6222021000000000018", "张三", idZhang, phoneZhang), "invalid_card_number"},
			{"bad GB 11643 check", verificationBody(cardZhang, "张三", "110105199003070018", phoneZhang), "invalid_id_number"},
			{"bad phone", verificationBody(cardZhang, "张三", idZhang, "23800138000"), "invalid_phone"},
		} {
			r := m.post(t, "/v1/verifications", tc.body, "")
			require.Equal(t, 422, r.Status, "%s: %s", tc.name, r.Body)
			require.Equal(t, tc.code, problemCode(t, r), tc.name)
		}
		var list struct {
			Data []models.Verification `json:"data"`
		}
		m.get(t, "/v1/verifications", &list)
		require.Empty(t, list.Data, "a refused request stores nothing (and so starts nothing)")
		require.Empty(t, identityFees(t, s, m.ID, models.FlowVerification), "a refused request bills nothing")

		// The bank times out on this card after executing: the flow asks again
		// under the same id (about 4 s), meanwhile the rest goes on.
		slow := make(chan models.Verification, 1)
		go func() {
			r, err := m.C.Post(context.Background(), "/v1/verifications", verificationBody(cardZhangSlow, "张三", idZhang, phoneZhang), "e2e-"+models.NewID(""))
			var v models.Verification
			if err != nil || r.Status != 200 || r.JSON(&v) != nil {
				t.Errorf("the timeout card: %v %v", err, r)
			}
			slow <- v
		}()

		matchKey := "e2e-" + models.NewID("")
		match, _ := m.verify(t, verificationBody(cardZhang, "张三", idZhang, phoneZhang), matchKey)
		require.Equal(t, models.VerificationSucceeded, match.Status)
		require.Equal(t, models.VerificationMatch, match.Result)
		require.Empty(t, match.MismatchedFields)
		require.Equal(t, models.CardInfo{Bank: bankICBC, CardType: "debit", Last4: "0017"}, match.Card)
		require.Equal(t, models.MaskedIdentity{CardNumber: "6222 **** **** 0017", Name: "张*", IDNumber: "1101**********0017", Phone: "138****8000"}, match.Elements)
		require.False(t, match.Cached)
		require.Equal(t, verificationFee, match.Fee)
		require.Equal(t, 1, executions(t, s, match.ID))

		mismatch, _ := m.verify(t, verificationBody(cardZhang, "李四", idZhang, phoneLi), "")
		require.Equal(t, models.VerificationSucceeded, mismatch.Status)
		require.Equal(t, models.VerificationMismatch, mismatch.Result)
		require.Equal(t, []string{"name", "phone"}, mismatch.MismatchedFields)
		require.Equal(t, verificationFee, mismatch.Fee)

		unknown, _ := m.verify(t, verificationBody(cardUnknown, "张三", "", ""), "")
		require.Equal(t, models.VerificationSucceeded, unknown.Status)
		require.Equal(t, models.VerificationMismatch, unknown.Result)
		require.Equal(t, []string{"card_number"}, unknown.MismatchedFields)
		require.Equal(t, verificationFee, unknown.Fee)

		cached, _ := m.verify(t, verificationBody(cardZhang, "张三", idZhang, phoneZhang), "")
		require.NotEqual(t, match.ID, cached.ID)
		require.Equal(t, models.VerificationSucceeded, cached.Status)
		require.Equal(t, models.VerificationMatch, cached.Result)
		require.True(t, cached.Cached)
		require.Equal(t, cachedFee, cached.Fee)
		require.Equal(t, match.Card, cached.Card)
		require.Equal(t, 0, executions(t, s, cached.ID), "answered from the cache: the bank was not asked")

		again, r := m.verify(t, verificationBody(cardZhang, "张三", idZhang, phoneZhang), matchKey)
		require.Equal(t, match.ID, again.ID, "a retry with the Idempotency-Key")
		require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
		require.Equal(t, 1, executions(t, s, match.ID))

		timedOut := <-slow
		require.Equal(t, models.VerificationSucceeded, timedOut.Status)
		require.Equal(t, models.VerificationMatch, timedOut.Result)
		require.False(t, timedOut.Cached)
		require.Equal(t, verificationFee, timedOut.Fee)
		require.Equal(t, 1, executions(t, s, timedOut.ID), "asked again under its id: executed once")

		// Billed exactly once each: 50 per answer of the bank, 10 per cached one.
		total := requireBilledOnce(t, s, m.ID, models.FlowVerification, map[string]int64{
			match.ID: match.Fee, mismatch.ID: mismatch.Fee, unknown.ID: unknown.Fee, cached.ID: cached.Fee, timedOut.ID: timedOut.Fee,
		})
		require.Equal(t, 4*verificationFee+cachedFee, total)
		m.get(t, "/v1/verifications", &list)
		require.Len(t, list.Data, 5)

		// Without settlement money: failed, and the bank never asked.
		poor := identityMerchant(t, s, 0)
		v, _ := poor.verify(t, verificationBody(cardZhang, "张三", idZhang, phoneZhang), "")
		require.Equal(t, models.VerificationFailed, v.Status)
		require.Equal(t, models.FailureInsufficientFunds, v.FailureCode)
		require.Zero(t, v.Fee)
		require.Equal(t, 0, executions(t, s, v.ID))
		require.Empty(t, identityFees(t, s, poor.ID, models.FlowVerification))
		require.True(t, ledgerCheck(t, s).OK)
	})
}

// With the cache in Redis: a verification's answer is cached there; once the
// stack's Redis database is flushed, the same elements are asked of the bank again
// (cached false, the full fee), and no verification is billed twice.
func TestIdentityRedisFlushedMidRun(t *testing.T) {
	identityWrote.Store("verifications", true)
	eachStackInParallel(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		rdb, err := stackRedis(s)
		require.NoError(t, err)
		defer rdb.Close()
		m := identityMerchant(t, s, 10000)
		body := verificationBody(cardLi, "李四", "", "")

		first, _ := m.verify(t, body, "")
		require.False(t, first.Cached)
		require.Equal(t, models.CardInfo{Bank: bankICBC, CardType: "credit", Last4: "0025"}, first.Card)
		keys, err := rdb.Keys(ctx, "payflow:verification:*").Result()
		require.NoError(t, err)
		require.NotEmpty(t, keys, "the answer is cached in the stack's Redis database")
		second, _ := m.verify(t, body, "")
		require.True(t, second.Cached)
		require.Equal(t, cachedFee, second.Fee)

		require.NoError(t, rdb.FlushDB(ctx).Err())
		third, _ := m.verify(t, body, "")
		require.Equal(t, models.VerificationSucceeded, third.Status)
		require.Equal(t, models.VerificationMatch, third.Result)
		require.False(t, third.Cached, "the cache was flushed: the bank answers")
		require.Equal(t, verificationFee, third.Fee)
		require.Equal(t, 1, executions(t, s, third.ID))
		fourth, _ := m.verify(t, body, "")
		require.True(t, fourth.Cached, "cached again after the bank's answer")

		total := requireBilledOnce(t, s, m.ID, models.FlowVerification, map[string]int64{
			first.ID: first.Fee, second.ID: second.Fee, third.ID: third.Fee, fourth.ID: fourth.Fee,
		})
		require.Equal(t, 2*verificationFee+2*cachedFee, total)
	})
}

// sms reads the last code that arrived at phone at the stack's bank (false: none
// yet).
func sms(t *testing.T, s *Stack, phone string) (string, time.Time, bool) {
	t.Helper()
	r, err := s.Bank(context.Background(), "GET", "/sim/sms?phone="+phone, "")
	require.NoError(t, err)
	if r.Status == 404 {
		return "", time.Time{}, false
	}
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var a struct {
		OTP    string    `json:"otp"`
		SentAt time.Time `json:"sent_at"`
	}
	require.NoError(t, r.JSON(&a))
	return a.OTP, a.SentAt, true
}

// wrongCode is a 6-digit code that is not otp.
func wrongCode(otp string, i int) string {
	n, _ := strconv.Atoi(otp)
	return fmt.Sprintf("%06d", (n+1+i)%1_000_000)
}

// bind starts binding a card to the wallet (202 expected).
func (m idMerchant) bind(t *testing.T, wallet string, body map[string]any) models.BoundCard {
	t.Helper()
	r := m.post(t, "/v1/accounts/"+wallet+"/cards", body, "")
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var c models.BoundCard
	require.NoError(t, r.JSON(&c))
	require.Equal(t, wallet, c.AccountID)
	return c
}

// confirm sends a code for a card.
func (m idMerchant) confirm(t *testing.T, wallet, cardID, otp string) *client.Response {
	t.Helper()
	r := m.post(t, "/v1/accounts/"+wallet+"/cards/"+cardID+"/confirm", map[string]any{"otp": otp}, "")
	return r
}

func (m idMerchant) card(t *testing.T, wallet, cardID string) models.BoundCard {
	t.Helper()
	var c models.BoundCard
	m.get(t, "/v1/accounts/"+wallet+"/cards/"+cardID, &c)
	return c
}

// Binding cards to a wallet through the API: the bank's code read from the
// simulator's SMS box, a wrong code (two tries left), the right one (active); the
// card tops the wallet up, pays and is paid a withdrawal, each executed once at the
// bank; removed, it pays no more. Three wrong codes fail the binding; a mismatch and
// a card the bank does not bind fail at once; a code that arrives late still binds.
func TestIdentityCardBinding(t *testing.T) {
	identityWrote.Store("bound_cards", true)
	eachStackInParallel(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		m := identityMerchant(t, s, 0)
		var w accountView
		r := m.post(t, "/v1/accounts", map[string]any{"currency": "CNY", "reference": "customer-identity"}, "")
		require.Equal(t, 201, r.Status, "%s", r.Body)
		require.NoError(t, r.JSON(&w))

		// 王五's code comes 2 s late: bound first, confirmed at the end.
		wang := m.bind(t, w.ID, elements(cardWang, "王五", idWang, phoneWang))
		require.Equal(t, models.BoundCardPendingOTP, wang.Status)

		zhang := m.bind(t, w.ID, elements(cardZhang, "张三", idZhang, phoneZhang))
		require.Equal(t, models.BoundCardPendingOTP, zhang.Status)
		require.Equal(t, 3, zhang.AttemptsLeft)
		require.Equal(t, "6222 **** **** 0017", zhang.CardNumber)
		require.Equal(t, "张*", zhang.Name)
		require.Equal(t, "1101**********0017", zhang.IDNumber)
		require.Equal(t, "138****8000", zhang.Phone)
		otp, _, ok := sms(t, s, phoneZhang)
		require.True(t, ok, "the bank sent the code before the binding answered")
		r = m.confirm(t, w.ID, zhang.ID, wrongCode(otp, 0))
		require.Equal(t, 422, r.Status, "%s", r.Body)
		require.Equal(t, "otp_incorrect", problemCode(t, r))
		var p struct {
			AttemptsLeft int `json:"attempts_left"`
		}
		require.NoError(t, r.JSON(&p))
		require.Equal(t, 2, p.AttemptsLeft)
		r = m.confirm(t, w.ID, zhang.ID, otp)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var active models.BoundCard
		require.NoError(t, r.JSON(&active))
		require.Equal(t, models.BoundCardActive, active.Status)
		require.Equal(t, models.CardInfo{Bank: bankICBC, CardType: "debit", Last4: "0017"}, active.Card)

		// The card tops the wallet up, pays, and is paid.
		r = m.post(t, "/v1/topups", map[string]any{"account_id": w.ID, "amount": 5000, "currency": "CNY",
			"source": map[string]any{"type": "bound_card", "card_id": zhang.ID}}, "")
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var top models.Topup
		require.NoError(t, r.JSON(&top))
		require.Equal(t, "succeeded", m.wait(t, "/v1/topups/"+top.ID, "processing").Status)
		require.Equal(t, 1, executions(t, s, top.ID))
		var a accountView
		m.get(t, "/v1/accounts/"+w.ID, &a)
		require.Equal(t, int64(5000), a.Balance)

		payBody := map[string]any{"amount": 1200, "currency": "CNY", "source": map[string]any{"type": "bound_card", "card_id": zhang.ID}}
		r = m.post(t, "/v1/payments", payBody, "")
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var pay models.Payment
		require.NoError(t, r.JSON(&pay))
		require.Equal(t, "succeeded", m.wait(t, "/v1/payments/"+pay.ID, "processing").Status)
		require.Equal(t, 1, executions(t, s, pay.ID))

		r = m.post(t, "/v1/withdrawals", map[string]any{"account_id": w.ID, "amount": 2000, "currency": "CNY",
			"destination": map[string]any{"bound_card": zhang.ID}}, "")
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var wd models.Withdrawal
		require.NoError(t, r.JSON(&wd))
		require.Equal(t, "succeeded", m.wait(t, "/v1/withdrawals/"+wd.ID, "processing", "pending_approval").Status)
		require.Equal(t, 1, executions(t, s, wd.ID))
		m.get(t, "/v1/accounts/"+w.ID, &a)
		require.Equal(t, int64(3000), a.Balance)

		// Removed: it pays no more.
		del, err := m.C.Do(ctx, client.Request{Method: "DELETE", Target: "/v1/accounts/" + w.ID + "/cards/" + zhang.ID})
		require.NoError(t, err)
		require.Equal(t, 200, del.Status, "%s", del.Body)
		var removed models.BoundCard
		require.NoError(t, del.JSON(&removed))
		require.Equal(t, models.BoundCardRemoved, removed.Status)
		r = m.post(t, "/v1/payments", payBody, "")
		require.Equal(t, 422, r.Status, "%s", r.Body)
		require.Equal(t, "invalid_source", problemCode(t, r))

		// Three wrong codes end a binding.
		tries := m.bind(t, w.ID, elements(cardZhang, "张三", idZhang, phoneZhang))
		require.Equal(t, models.BoundCardPendingOTP, tries.Status)
		otp, _, ok = sms(t, s, phoneZhang)
		require.True(t, ok)
		for i, want := range []string{"otp_incorrect", "otp_incorrect", "otp_attempts_exceeded"} {
			r = m.confirm(t, w.ID, tries.ID, wrongCode(otp, i))
			require.Equal(t, 422, r.Status, "%s", r.Body)
			require.Equal(t, want, problemCode(t, r), "wrong code #%d", i+1)
		}
		failed := m.card(t, w.ID, tries.ID)
		require.Equal(t, models.BoundCardFailed, failed.Status)
		require.Equal(t, models.FailureOTPAttemptsExceeded, failed.FailureCode)
		r = m.confirm(t, w.ID, tries.ID, otp)
		require.Equal(t, 422, r.Status, "the right code after the binding failed: %s", r.Body)

		// Refused by the bank at once.
		for _, tc := range []struct {
			name string
			body map[string]any
			code models.FailureCode
		}{
			{"a wrong name", elements(cardZhang, "张四", idZhang, phoneZhang), models.FailureVerificationFailed},
			{"a card the bank does not bind", elements(cardUnknown, "张三", idZhang, phoneZhang), models.FailureUnsupportedCard},
		} {
			c := m.bind(t, w.ID, tc.body)
			if c.Status == models.BoundCardPendingOTP {
				c = m.card(t, w.ID, c.ID)
			}
			require.Equal(t, models.BoundCardFailed, c.Status, tc.name)
			require.Equal(t, tc.code, c.FailureCode, tc.name)
		}

		// 王五's code, once it has arrived.
		deadline := time.Now().Add(10 * time.Second)
		for otp, _, ok = sms(t, s, phoneWang); !ok; otp, _, ok = sms(t, s, phoneWang) {
			require.True(t, time.Now().Before(deadline), "王五's code never arrived")
			time.Sleep(200 * time.Millisecond)
		}
		r = m.confirm(t, w.ID, wang.ID, otp)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.Equal(t, models.BoundCardActive, m.card(t, w.ID, wang.ID).Status)

		var cards struct {
			Data []models.BoundCard `json:"data"`
		}
		m.get(t, "/v1/accounts/"+w.ID+"/cards", &cards)
		require.Len(t, cards.Data, 5)
		require.True(t, ledgerCheck(t, s).OK)
	})
}

// reportBody is a credit report request with consent granted at grantedAt.
func reportBody(name, idNumber string, grantedAt time.Time, refresh bool) map[string]any {
	b := map[string]any{
		"subject": map[string]any{"name": name, "id_number": idNumber}, "purpose": "loan_review",
		"consent": map[string]any{"reference": "consent-" + models.NewID(""), "granted_at": grantedAt.UTC().Format(time.RFC3339)},
	}
	if refresh {
		b["refresh"] = true
	}
	return b
}

type creditReportView struct {
	models.CreditReport
	Content struct {
		Score   int `json:"score"`
		Summary struct {
			OverdueAccounts int `json:"overdue_accounts"`
		} `json:"summary"`
	} `json:"-"`
}

// report posts a credit report request and expects status.
func (m idMerchant) report(t *testing.T, body map[string]any, status int) models.CreditReport {
	t.Helper()
	r := m.post(t, "/v1/credit_reports", body, "")
	require.Equal(t, status, r.Status, "%s", r.Body)
	var c models.CreditReport
	require.NoError(t, r.JSON(&c))
	return c
}

// finalReport polls a report until it leaves processing (every GET is a read).
func (m idMerchant) finalReport(t *testing.T, id string) creditReportView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, r, err := m.C.WaitStatus(ctx, "/v1/credit_reports/"+id, 250*time.Millisecond, "processing")
	require.NoError(t, err)
	var v creditReportView
	require.NoError(t, r.JSON(&v.CreditReport))
	if len(v.Report) > 0 && string(v.Report) != "null" {
		require.NoError(t, json.Unmarshal(v.Report, &v.Content))
	}
	return v
}

// Credit reports through the API: a consent too old or in the future refused
// (nothing stored); 张三's report asked of the bureau, ready with its score, billed
// once, its reads recorded; asked again, the stored report reused (no bureau, the
// reuse fee), or, with refresh, the bureau asked again; 赵六 unknown to the bureau;
// the bureau down for a while, the report ready once it is back; a report past its
// retention purged by the purge schedule.
func TestIdentityCreditReports(t *testing.T) {
	identityWrote.Store("credit_reports", true)
	eachStackInParallel(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		m := identityMerchant(t, s, 20000)
		now := time.Now()
		// The bureau prepares a report in 300 ms instead of 3 s (its callback wakes
		// the flow before its first query): this stack's bank alone, and nothing
		// else of this stack runs meanwhile.
		bankAdmin(t, s, "/sim/faults", map[string]any{"bureau_delay_ms": 300})
		defer s.Bank(ctx, "POST", "/sim/faults", `{}`)

		for name, at := range map[string]time.Time{"older than 30 days": now.Add(-31 * 24 * time.Hour), "in the future": now.Add(2 * time.Hour)} {
			r := m.post(t, "/v1/credit_reports", reportBody("张三", idZhang, at, false), "")
			require.Equal(t, 422, r.Status, "%s: %s", name, r.Body)
			require.Equal(t, "consent_invalid", problemCode(t, r), name)
		}
		var list struct {
			Data []models.CreditReport `json:"data"`
		}
		m.get(t, "/v1/credit_reports", &list)
		require.Empty(t, list.Data, "a refused consent stores nothing")

		first := m.report(t, reportBody("张三", idZhang, now.Add(-24*time.Hour), false), 202)
		require.Equal(t, models.CreditReportProcessing, first.Status)
		require.Equal(t, models.Subject{Name: "张*", IDNumber: "1101**********0017"}, first.Subject)
		// 赵六 meanwhile.
		zhao := m.report(t, reportBody("赵六", idZhao, now, false), 202)

		got := m.finalReport(t, first.ID)
		require.Equal(t, models.CreditReportReady, got.Status)
		require.Equal(t, 720, got.Content.Score)
		require.Equal(t, reportFee, got.Fee)
		require.NotNil(t, got.ReadyAt)
		require.NotNil(t, got.ExpiresAt)
		require.Equal(t, 1, executions(t, s, first.ID))
		var reads struct {
			Data []models.ReportRead `json:"data"`
		}
		m.get(t, "/v1/credit_reports/"+first.ID+"/reads", &reads)
		require.NotEmpty(t, reads.Data)
		for _, rd := range reads.Data {
			require.Equal(t, "merchant:"+m.ID, rd.Reader)
			require.Equal(t, first.ID, rd.ReportID)
			require.NotEmpty(t, rd.RequestID)
		}

		// Asked again: the stored report answers at once, at the reuse fee.
		reused := m.report(t, reportBody("张三", idZhang, now, false), 200)
		require.Equal(t, models.CreditReportReady, reused.Status)
		require.Equal(t, first.ID, reused.ReusedFrom)
		require.Equal(t, int64(models.DefaultCreditReportReuseFee), reused.Fee)
		require.Equal(t, 0, executions(t, s, reused.ID), "no bureau asked")
		// With refresh, the bureau is asked again.
		fresh := m.report(t, reportBody("张三", idZhang, now, true), 202)

		noRecord := m.finalReport(t, zhao.ID)
		require.Equal(t, models.CreditReportFailed, noRecord.Status)
		require.Equal(t, models.FailureNoRecord, noRecord.FailureCode)
		require.Equal(t, reportFee, noRecord.Fee, "the bureau answered: billed")
		refreshed := m.finalReport(t, fresh.ID)
		require.Equal(t, models.CreditReportReady, refreshed.Status)
		require.Empty(t, refreshed.ReusedFrom)
		require.Equal(t, reportFee, refreshed.Fee)
		require.Equal(t, 720, refreshed.Content.Score)
		require.Equal(t, 1, executions(t, s, fresh.ID))

		// The bureau down for a while.
		bankAdmin(t, s, "/sim/faults", map[string]any{"bureau_down": true, "bureau_delay_ms": 300})
		down := m.report(t, reportBody("李四", idLi, now, false), 202)
		time.Sleep(2 * time.Second)
		require.Equal(t, 0, executions(t, s, down.ID), "the bureau is down")
		var st models.CreditReport
		m.get(t, "/v1/credit_reports/"+down.ID, &st)
		require.Equal(t, models.CreditReportProcessing, st.Status)
		bankAdmin(t, s, "/sim/faults", map[string]any{"bureau_delay_ms": 300})
		back := m.finalReport(t, down.ID)
		require.Equal(t, models.CreditReportReady, back.Status)
		require.Equal(t, 580, back.Content.Score)
		require.Equal(t, 2, back.Content.Summary.OverdueAccounts)
		require.Equal(t, 1, executions(t, s, down.ID))

		total := requireBilledOnce(t, s, m.ID, models.FlowCreditReport, map[string]int64{
			first.ID: got.Fee, reused.ID: reused.Fee, zhao.ID: noRecord.Fee, fresh.ID: refreshed.Fee, down.ID: back.Fee,
		})
		require.Equal(t, 4*reportFee, total)

		// Past its retention (ready_at moved back beyond the 90 days, as the purge
		// reads it), the first report's content goes at the next purge.
		db, err := store.Open(s.DSN, 2)
		require.NoError(t, err)
		defer db.Close()
		require.NoError(t, db.Exec("UPDATE credit_reports SET ready_at = ? WHERE id = ?",
			time.Now().UTC().Add(-91*24*time.Hour), first.ID).Error)
		var purged models.PurgeResult
		triggerAndWait(t, temporalClient(t, s), workflows.PurgeScheduleID, &purged)
		var gone models.CreditReport
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			r, err := m.C.Get(ctx, "/v1/credit_reports/"+first.ID)
			if assert.NoError(ct, err) && assert.NoError(ct, r.JSON(&gone)) {
				assert.Equal(ct, models.CreditReportPurged, gone.Status)
			}
		}, 20*time.Second, 250*time.Millisecond)
		require.Equal(t, "null", string(gone.Report))
		require.NotNil(t, gone.PurgedAt)
		m.get(t, "/v1/credit_reports/"+refreshed.ID, &st)
		require.Equal(t, models.CreditReportReady, st.Status, "a report within its retention stays")
		require.True(t, ledgerCheck(t, s).OK)
	})
}
