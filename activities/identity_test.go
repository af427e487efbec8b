package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// fakeCache is a cache that keeps its entries in a map, answers getErr to every Get
// when set, and runs onSet before each Set.
type fakeCache struct {
	mu      sync.Mutex
	entries map[string][]byte
	getErr  error
	sets    []string
	onSet   func(key string)
}

func (c *fakeCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.getErr != nil {
		return nil, false, c.getErr
	}
	b, ok := c.entries[key]
	return b, ok, nil
}

func (c *fakeCache) Set(_ context.Context, key string, value []byte, _ time.Duration) error {
	if c.onSet != nil {
		c.onSet(key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string][]byte{}
	}
	c.entries[key] = value
	c.sets = append(c.sets, key)
	return nil
}

func (c *fakeCache) setCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sets)
}

// identityFixture is a merchant paid 10000 (9900 settled, 100 in fees) with the
// identity activities on its database.
type identityFixture struct {
	moneyFixture
	acts  *activities.Identity
	holds *activities.Holds
	cache *fakeCache
	env   *testsuite.TestActivityEnvironment
}

func newIdentityFixture(t *testing.T, b testenv.Backend) *identityFixture {
	t.Helper()
	f := &identityFixture{moneyFixture: newMoneyFixture(t, b), cache: &fakeCache{}}
	f.acts = &activities.Identity{Store: f.st, Ledger: f.l, Cache: f.cache, Log: f.log}
	f.holds = &activities.Holds{Store: f.st, Ledger: f.l, Log: f.log}
	payments := &activities.Payments{Store: f.st, Ledger: f.l, Log: f.log}
	var s testsuite.WorkflowTestSuite
	f.env = s.NewTestActivityEnvironment()
	f.env.RegisterActivity(f.acts)
	f.env.RegisterActivity(f.holds)
	f.env.RegisterActivity(payments)
	_, err := f.env.ExecuteActivity(payments.FinalizePayment, models.FinalizePaymentInput{
		PaymentID: f.pay.ID, MerchantID: f.pay.MerchantID, Amount: f.pay.Amount, Currency: f.pay.Currency,
		Channel: "banksim", Source: f.pay.Source, Status: models.PaymentSucceeded,
		PostingKey: "payment/" + f.pay.ID + "/capture",
	})
	require.NoError(t, err)
	return f
}

// balances answers the merchant's settlement account and the fees account.
func (f *identityFixture) balances(t *testing.T) (settlement, fees ledger.Account) {
	t.Helper()
	ctx := context.Background()
	settlement, err := f.l.AccountBySpec(ctx, ledger.SettlementSpec(f.pay.MerchantID, "CNY"))
	require.NoError(t, err)
	fees, err = f.l.AccountBySpec(ctx, ledger.FeesSpec("CNY"))
	require.NoError(t, err)
	return settlement, fees
}

func (f *identityFixture) hold(t *testing.T, flow models.Flow, id string, amount int64) string {
	t.Helper()
	v, err := f.env.ExecuteActivity(f.holds.PlaceHold, models.PlaceHoldInput{
		Key: string(flow) + "/" + id + "/fee-hold", MerchantID: f.pay.MerchantID, Amount: amount, Currency: "CNY",
		Flow: flow, FlowID: id,
	})
	require.NoError(t, err)
	var res models.PlaceHoldResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, models.FailureNone, res.FailureCode)
	return res.HoldID
}

func (f *identityFixture) verification(t *testing.T) string {
	t.Helper()
	id := models.NewID(models.PrefixVerification)
	idn := models.Identity{CardNumber: "6222020200112233445", Name: "Test Person"}
	v := models.Verification{ID: id, Status: models.VerificationProcessing, Currency: "CNY", Elements: idn.Masked(),
		CreatedAt: time.Now().UTC()}
	require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error {
		return store.InsertVerification(tx, f.pay.MerchantID, idn.Elements(), v)
	}))
	return id
}

func (f *identityFixture) finish(t *testing.T, in activities.FinishIdentityInput) {
	t.Helper()
	in.MerchantID, in.Currency = f.pay.MerchantID, "CNY"
	in.PostingKey = string(in.Flow) + "/" + in.ObjectID + "/fee"
	_, err := f.env.ExecuteActivity(f.acts.FinishIdentity, in)
	require.NoError(t, err)
}

func (f *identityFixture) journals(t *testing.T) int64 {
	t.Helper()
	rep, err := f.l.Check(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK, "the ledger balances")
	return rep.Journals
}

var matchAnswer = models.VerificationAnswer{Result: models.VerificationMatch, MismatchedFields: []string{},
	Card: models.CardInfo{Bank: "ICBC", CardType: "debit", Last4: "3445"}}

// A verification's fee is settled from its hold: exactly the fee leaves the
// merchant's settlement account for the fees account, once however often the step
// runs; the verification ends succeeded with the bank's answer, and the answer is
// cached only once the transaction committed.
func TestIdentityFinishVerificationSettlesTheHold(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newIdentityFixture(t, b)
			ctx := context.Background()
			id := f.verification(t)
			holdID := f.hold(t, models.FlowVerification, id, 50)
			settlement0, fees0 := f.balances(t)
			require.Equal(t, int64(9900), settlement0.Balance)
			require.Equal(t, int64(50), settlement0.Held)
			journals0 := f.journals(t)

			// What another reader sees of the verification when its answer reaches
			// the cache: it must already be the committed outcome.
			var seenAtSet []models.VerificationStatus
			f.cache.onSet = func(string) {
				v, err := f.st.Verification(ctx, f.pay.MerchantID, id)
				if err != nil {
					v.Status = models.VerificationStatus("unreadable: " + err.Error())
				}
				seenAtSet = append(seenAtSet, v.Status)
			}
			ans := matchAnswer
			in := activities.FinishIdentityInput{
				Flow: models.FlowVerification, ObjectID: id, HoldID: holdID, Fee: 50,
				Verification: &models.VerificationOutcome{Status: models.VerificationSucceeded, Answer: &ans, Fee: 50},
				CacheKey:     "ck_" + id, CacheTTL: time.Hour,
			}
			f.finish(t, in)
			f.finish(t, in) // a retry after a lost acknowledgement

			settlement, fees := f.balances(t)
			require.Equal(t, settlement0.Balance-50, settlement.Balance, "exactly the fee leaves the settlement account")
			require.Equal(t, int64(0), settlement.Held, "the hold is settled")
			require.Equal(t, fees0.Balance+50, fees.Balance, "exactly the fee reaches the fees account")
			require.Equal(t, journals0+1, f.journals(t), "booked once")

			v, err := f.st.Verification(ctx, f.pay.MerchantID, id)
			require.NoError(t, err)
			require.Equal(t, models.VerificationSucceeded, v.Status)
			require.Equal(t, models.VerificationMatch, v.Result)
			require.Equal(t, []string{}, v.MismatchedFields)
			require.Equal(t, matchAnswer.Card, v.Card)
			require.Equal(t, int64(50), v.Fee)
			require.False(t, v.Cached)

			require.NotEmpty(t, seenAtSet)
			for _, st := range seenAtSet {
				require.Equal(t, models.VerificationSucceeded, st, "the cache got the answer before the outcome committed")
			}
			got, ok, err := f.cache.Get(ctx, "ck_"+id)
			require.NoError(t, err)
			require.True(t, ok)
			var cached models.VerificationAnswer
			require.NoError(t, json.Unmarshal(got, &cached))
			require.Equal(t, matchAnswer.Result, cached.Result)
			require.Equal(t, matchAnswer.Card, cached.Card)
		})
	}
}

// A mismatch records the fields the bank named.
func TestIdentityFinishVerificationMismatch(t *testing.T) {
	f := newIdentityFixture(t, testenv.SQLite)
	id := f.verification(t)
	holdID := f.hold(t, models.FlowVerification, id, 50)
	ans := models.VerificationAnswer{Result: models.VerificationMismatch, MismatchedFields: []string{models.FieldName, models.FieldIDNumber}}
	f.finish(t, activities.FinishIdentityInput{Flow: models.FlowVerification, ObjectID: id, HoldID: holdID, Fee: 50,
		Verification: &models.VerificationOutcome{Status: models.VerificationSucceeded, Answer: &ans, Fee: 50}})
	v, err := f.st.Verification(context.Background(), f.pay.MerchantID, id)
	require.NoError(t, err)
	require.Equal(t, models.VerificationMismatch, v.Result)
	require.Equal(t, []string{models.FieldName, models.FieldIDNumber}, v.MismatchedFields)
}

// Fee 0 (the bank never answered) releases the hold: nothing moves, nothing is
// booked, nothing is cached, and the verification ends failed.
func TestIdentityFinishFeeZeroReleasesTheHold(t *testing.T) {
	f := newIdentityFixture(t, testenv.SQLite)
	id := f.verification(t)
	holdID := f.hold(t, models.FlowVerification, id, 50)
	settlement0, fees0 := f.balances(t)
	journals0 := f.journals(t)
	f.finish(t, activities.FinishIdentityInput{Flow: models.FlowVerification, ObjectID: id, HoldID: holdID, Fee: 0,
		Verification: &models.VerificationOutcome{Status: models.VerificationFailed, FailureCode: models.FailureBankUnavailable},
		CacheKey:     "ck_" + id, CacheTTL: time.Hour})
	settlement, fees := f.balances(t)
	require.Equal(t, settlement0.Balance, settlement.Balance)
	require.Equal(t, int64(0), settlement.Held, "the hold is released")
	require.Equal(t, fees0.Balance, fees.Balance)
	require.Equal(t, journals0, f.journals(t), "nothing booked")
	require.Equal(t, 0, f.cache.setCount())
	v, err := f.st.Verification(context.Background(), f.pay.MerchantID, id)
	require.NoError(t, err)
	require.Equal(t, models.VerificationFailed, v.Status)
	require.Equal(t, models.FailureBankUnavailable, v.FailureCode)
	require.Equal(t, int64(0), v.Fee)
}

// An answer that came from the cache is not written back to it.
func TestIdentityFinishCachedAnswerIsNotCachedAgain(t *testing.T) {
	f := newIdentityFixture(t, testenv.SQLite)
	id := f.verification(t)
	holdID := f.hold(t, models.FlowVerification, id, 10)
	ans := matchAnswer
	f.finish(t, activities.FinishIdentityInput{Flow: models.FlowVerification, ObjectID: id, HoldID: holdID, Fee: 10,
		Verification: &models.VerificationOutcome{Status: models.VerificationSucceeded, Answer: &ans, Cached: true, Fee: 10},
		CacheKey:     "ck_" + id, CacheTTL: time.Hour})
	require.Equal(t, 0, f.cache.setCount(), "a cached answer never refreshes its entry")
	v, err := f.st.Verification(context.Background(), f.pay.MerchantID, id)
	require.NoError(t, err)
	require.True(t, v.Cached)
	require.Equal(t, int64(10), v.Fee)
	settlement, _ := f.balances(t)
	require.Equal(t, int64(9890), settlement.Balance)
}

// A ready credit report's content is stored sealed (the row holds no trace of the
// raw JSON) and comes back opened through store.CreditReport, kept for Retention.
func TestIdentityFinishCreditReportSealsTheContent(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newIdentityFixture(t, b)
			ctx := context.Background()
			id := models.NewID(models.PrefixCreditReport)
			subject := models.Subject{Name: "Test Person", IDNumber: "110101199001011234"}
			require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error {
				return f.st.InsertCreditReport(tx, store.NewCreditReport{
					Report: models.CreditReport{ID: id, Status: models.CreditReportProcessing, Purpose: "loan_review",
						Fee: 300, Currency: "CNY", CreatedAt: time.Now().UTC()},
					MerchantID: f.pay.MerchantID, SubjectHash: "h_subject", Subject: subject,
					Consent: models.Consent{Reference: "consent-1", GrantedAt: time.Now().UTC()},
				})
			}))
			holdID := f.hold(t, models.FlowCreditReport, id, 300)
			settlement0, fees0 := f.balances(t)
			content := json.RawMessage(`{"score":712,"marker":"raw-report-7f3a"}`)
			f.finish(t, activities.FinishIdentityInput{Flow: models.FlowCreditReport, ObjectID: id, HoldID: holdID, Fee: 300,
				Report:  &models.CreditReportResult{Status: models.CreditReportReady},
				Content: content, Retention: 90 * 24 * time.Hour})

			var sealed *string
			require.NoError(t, f.st.DB().Raw("SELECT report_sealed FROM credit_reports WHERE id = ?", id).Scan(&sealed).Error)
			require.NotNil(t, sealed)
			require.NotEmpty(t, *sealed)
			require.NotContains(t, *sealed, "raw-report-7f3a", "the report is stored in the clear")
			require.NotContains(t, *sealed, "score")

			r, err := f.st.CreditReport(ctx, f.pay.MerchantID, id)
			require.NoError(t, err)
			require.Equal(t, models.CreditReportReady, r.Status)
			require.JSONEq(t, string(content), string(r.Report))
			require.Equal(t, int64(300), r.Fee)
			require.NotNil(t, r.ReadyAt)
			require.NotNil(t, r.ExpiresAt)
			require.Equal(t, 90*24*time.Hour, r.ExpiresAt.Sub(*r.ReadyAt))

			settlement, fees := f.balances(t)
			require.Equal(t, settlement0.Balance-300, settlement.Balance)
			require.Equal(t, int64(0), settlement.Held)
			require.Equal(t, fees0.Balance+300, fees.Balance)
		})
	}
}

// LookupVerification: a cache that fails or an entry that does not read as an
// answer is a miss (the bank is asked), never an error of the flow.
func TestIdentityLookupVerification(t *testing.T) {
	good, err := json.Marshal(matchAnswer)
	require.NoError(t, err)
	tests := []struct {
		name   string
		cache  *fakeCache
		key    string
		answer *models.VerificationAnswer
	}{
		{name: "hit", cache: &fakeCache{entries: map[string][]byte{"k": good}}, key: "k", answer: &matchAnswer},
		{name: "miss", cache: &fakeCache{}, key: "k"},
		{name: "cache error", cache: &fakeCache{getErr: errors.New("redis: connection refused"), entries: map[string][]byte{"k": good}}, key: "k"},
		{name: "not json", cache: &fakeCache{entries: map[string][]byte{"k": []byte("\x00garbage")}}, key: "k"},
		{name: "json without a result", cache: &fakeCache{entries: map[string][]byte{"k": []byte(`{"card":{"bank":"ICBC"}}`)}}, key: "k"},
		{name: "unknown result", cache: &fakeCache{entries: map[string][]byte{"k": []byte(`{"result":"maybe"}`)}}, key: "k"},
		{name: "no key", cache: &fakeCache{entries: map[string][]byte{"": good}}, key: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acts := &activities.Identity{Cache: tc.cache, Log: newMoneyLog()}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			v, err := env.ExecuteActivity(acts.LookupVerification, tc.key)
			require.NoError(t, err, "a cache problem must not fail the flow")
			var got *models.VerificationAnswer
			if v.HasValue() { // a nil answer travels as no value at all
				require.NoError(t, v.Get(&got))
			}
			if tc.answer == nil {
				require.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			require.Equal(t, tc.answer.Result, got.Result)
			require.Equal(t, tc.answer.Card, got.Card)
		})
	}
}

func newMoneyLog() *logrus.Entry {
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	return logrus.NewEntry(lg)
}
