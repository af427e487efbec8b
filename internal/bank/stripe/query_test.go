package stripe

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Query finds a transfer by the metadata reference and nothing else, and says "not
// found" only when the strongly consistent list has read everything since the
// reference existed.
func TestQuery(t *testing.T) {
	now := time.Now()
	pay := models.NewID(models.PrefixPayment)
	tests := []struct {
		name  string
		setup func(f *fakeStripe)
		ref   string
		opts  Options
		want  error
		// wantStatus and wantBankKind describe the transfer found.
		wantStatus models.BankStatus
		wantKind   bank.Kind
	}{
		{
			name:  "charge found by search",
			setup: func(f *fakeStripe) { f.addCharge(pay, "succeeded", 1050, "cny", now) },
			ref:   pay, wantStatus: models.BankSucceeded, wantKind: bank.KindCharge,
		},
		{
			name: "charge found by the list while the search index lags",
			setup: func(f *fakeStripe) {
				f.searchLags = true
				f.addCharge(models.NewID(models.PrefixPayment), "succeeded", 1, "cny", now)
				f.addCharge(pay, "pending", 1050, "cny", now)
				f.addCharge(models.NewID(models.PrefixPayment), "succeeded", 1, "cny", now)
			},
			ref: pay, wantStatus: models.BankProcessing, wantKind: bank.KindCharge,
		},
		{
			name: "charges of other references only",
			setup: func(f *fakeStripe) {
				f.addCharge(models.NewID(models.PrefixPayment), "succeeded", 1, "cny", now)
				f.addCharge("", "succeeded", 1, "cny", now)
			},
			ref: pay, want: bank.ErrNotFound,
		},
		{
			name: "payout found by the list",
			setup: func(f *fakeStripe) {
				f.add("/v1/payouts", "po", now, map[string]any{"object": "payout", "status": "failed", "failure_code": "no_account", "amount": 500, "currency": "cny", "metadata": meta(wdRef)})
			},
			ref: wdRef, wantStatus: models.BankFailed, wantKind: bank.KindPayout,
		},
		{
			name:  "refund never seen",
			setup: func(f *fakeStripe) {},
			ref:   reRef, want: bank.ErrNotFound,
		},
		{
			name: "refund found",
			setup: func(f *fakeStripe) {
				f.add("/v1/refunds", "re", now, map[string]any{"object": "refund", "status": "succeeded", "amount": 500, "currency": "cny", "metadata": meta(reRef)})
			},
			ref: reRef, wantStatus: models.BankSucceeded, wantKind: bank.KindRefund,
		},
		{
			name:  "a reference without a creation time is found by search",
			setup: func(f *fakeStripe) { f.addCharge("pay_seeded", "succeeded", 1050, "cny", now) },
			ref:   "pay_seeded", wantStatus: models.BankSucceeded, wantKind: bank.KindCharge,
		},
		{
			name:  "a reference without a creation time cannot be proved absent",
			setup: func(f *fakeStripe) {},
			ref:   "pay_seeded", want: bank.ErrUnknownOutcome,
		},
		{
			name: "a list page fails",
			setup: func(f *fakeStripe) {
				f.fail = func(r *http.Request) int {
					if r.URL.Path == "/v1/charges" {
						return 500
					}
					return 0
				}
			},
			ref: pay, want: bank.ErrUnknownOutcome,
		},
		{
			name: "the search fails and the list decides",
			setup: func(f *fakeStripe) {
				f.addCharge(pay, "succeeded", 1050, "cny", now)
				f.fail = func(r *http.Request) int {
					if r.URL.Path == "/v1/charges/search" {
						return 400
					}
					return 0
				}
			},
			ref: pay, wantStatus: models.BankSucceeded, wantKind: bank.KindCharge,
		},
		{
			name: "the scan limit is reached before the end",
			setup: func(f *fakeStripe) {
				f.searchLags = true
				for i := 0; i < 5; i++ {
					f.addCharge("pay_other"+strconv.Itoa(i), "succeeded", 1, "cny", now)
				}
			},
			opts: Options{PageSize: 2, ScanLimit: 3},
			ref:  pay, want: bank.ErrUnknownOutcome,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, url := newFakeStripe(t, nil)
			tc.setup(f)
			got, err := newChannel(t, url, tc.opts).Query(context.Background(), tc.ref)
			if requireContractError(t, err, tc.want) {
				return
			}
			require.Equal(t, tc.ref, got.Reference)
			require.Equal(t, tc.wantStatus, got.Status)
			require.Equal(t, tc.wantKind, got.Kind)
			require.Equal(t, Name, got.Channel)
		})
	}
}

// Fixed references of refunds and payouts created now.
var (
	reRef = models.NewID(models.PrefixRefund)
	wdRef = models.NewID(models.PrefixWithdrawal)
)

// The listing that proves absence starts at the reference's creation time less the
// clock skew, and pages through with the configured page size.
func TestQueryListsFromTheReferenceCreation(t *testing.T) {
	f, rec, url := newFakeStripe(t, nil)
	f.searchLags = true
	created := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	ref := refAt(models.PrefixPayment, created)
	got, ok := models.IDTime(ref)
	require.True(t, ok)
	require.Equal(t, created.UTC(), got)
	_, err := newChannel(t, url, Options{ClockSkew: time.Minute, PageSize: 7}).Query(context.Background(), ref)
	require.ErrorIs(t, err, bank.ErrNotFound)
	var list *recorded
	for _, r := range rec.requests() {
		if r.Path == "/v1/charges" {
			list = &r
		}
	}
	require.NotNil(t, list, "the charges list was not read")
	require.Equal(t, strconv.FormatInt(created.Add(-time.Minute).Unix(), 10), list.Form.Get("created[gte]"))
	require.Equal(t, "7", list.Form.Get("limit"))
}

// refAt returns a reference with prefix created at the given time, as NewID would
// have made it then: 10 base32 digits of (2 zero bits and) 48 bits of milliseconds,
// then 16 digits of the random part.
func refAt(prefix string, at time.Time) string {
	const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	ms := uint64(at.UnixMilli())
	var b [26]byte
	for i := 9; i >= 0; i-- {
		b[i] = alphabet[ms&31]
		ms >>= 5
	}
	for i := 10; i < 26; i++ {
		b[i] = '7'
	}
	return prefix + string(b[:])
}

// Against stripe-mock: its search answers a fixture charge whatever the query, a
// charge that is not ours. The adapter must not take it for ours.
func TestQueryOnStripeMockIsNotFooledByFixtures(t *testing.T) {
	rec, url := recordedStripeMock(t)
	c := newChannel(t, url, Options{})
	for _, ref := range []string{models.NewID(models.PrefixPayment), models.NewID(models.PrefixRefund), models.NewID(models.PrefixWithdrawal)} {
		_, err := c.Query(context.Background(), ref)
		require.ErrorIs(t, err, bank.ErrNotFound, ref)
	}
	var paths []string
	for _, r := range rec.requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	require.Equal(t, []string{"GET /v1/charges/search", "GET /v1/charges", "GET /v1/refunds", "GET /v1/payouts"}, paths)
}

// Query resolves every kind of reference payflow sends to Stripe to the kind of
// object it names, and bounds the listing that proves absence by the time the
// reference carries: its own, or for a reversal that of the charge it reverses (a
// refund cannot be older than its charge). A reversal answers as the refund it is,
// so that a compensation can be confirmed.
func TestQueryEveryKindOfReference(t *testing.T) {
	created := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	pay := refAt(models.PrefixPayment, created)
	top := refAt(models.PrefixTopup, created)
	skew := time.Minute
	bound := strconv.FormatInt(created.Add(-skew).Unix(), 10)
	kinds := []struct {
		name string
		ref  string
		kind bank.Kind
	}{
		{"payment charge", pay, bank.KindCharge},
		{"top-up charge", top, bank.KindCharge},
		{"refund", refAt(models.PrefixRefund, created), bank.KindRefund},
		{"reversal of a payment", models.ReversalReference(pay), bank.KindRefund},
		{"reversal of a top-up", models.ReversalReference(top), bank.KindRefund},
		{"legacy reversal of a payment", pay + ".reversal", bank.KindRefund},
		{"legacy reversal of a top-up", top + ".reversal", bank.KindRefund},
		{"withdrawal payout", refAt(models.PrefixWithdrawal, created), bank.KindPayout},
	}
	// Where each kind lives at Stripe, and how the fake makes one.
	objects := map[bank.Kind]struct{ path, prefix, object, status string }{
		bank.KindCharge: {"/v1/charges", "ch", "charge", "succeeded"},
		bank.KindRefund: {"/v1/refunds", "re", "refund", "succeeded"},
		bank.KindPayout: {"/v1/payouts", "po", "payout", "paid"},
	}
	for _, k := range kinds {
		o := objects[k.kind]
		add := func(f *fakeStripe, ref string) {
			f.add(o.path, o.prefix, time.Now(), map[string]any{"object": o.object, "status": o.status, "amount": 500, "currency": "cny", "metadata": meta(ref)})
		}
		for _, found := range []bool{true, false} {
			name := k.name + "/not found"
			if found {
				name = k.name + "/found"
			}
			t.Run(name, func(t *testing.T) {
				f, rec, url := newFakeStripe(t, nil)
				f.searchLags = true // so that the list, and its bound, decide
				add(f, models.NewID(models.PrefixPayment))
				if found {
					add(f, k.ref)
				}
				add(f, "")
				got, err := newChannel(t, url, Options{ClockSkew: skew}).Query(context.Background(), k.ref)
				if found {
					require.NoError(t, err)
					require.Equal(t, bank.Transfer{
						Reference: k.ref, Channel: Name, Kind: k.kind, Amount: 500, Currency: "CNY",
						Status: models.BankSucceeded, BankID: got.BankID,
					}, got)
					require.NotEmpty(t, got.BankID)
				} else {
					requireContractError(t, err, bank.ErrNotFound)
				}
				var lists []recorded
				for _, r := range rec.requests() {
					if r.Path == o.path {
						lists = append(lists, r)
					}
				}
				require.Len(t, lists, 1, "the list of %s", o.path)
				require.Equal(t, bound, lists[0].Form.Get("created[gte]"))
			})
		}
	}
}

// A reference of no kind payflow sends cannot be looked up, so it can never be
// proved absent: its outcome is unknown, never "not found".
func TestQueryUnresolvableReference(t *testing.T) {
	created := time.Now().Add(-time.Hour)
	for _, ref := range []string{
		refAt("xyz_", created),
		models.ReversalReference(refAt(models.PrefixRefund, created)),
		models.ReversalReference(refAt(models.PrefixWithdrawal, created)),
		models.ReversalReference(models.ReversalReference(refAt(models.PrefixPayment, created))),
		models.PrefixReversal,
		refAt(models.PrefixWithdrawal, created) + ".reversal",
		".reversal",
		"",
	} {
		t.Run(ref, func(t *testing.T) {
			f, rec, url := newFakeStripe(t, nil)
			f.addCharge(ref, "succeeded", 500, "cny", time.Now())
			_, err := newChannel(t, url, Options{}).Query(context.Background(), ref)
			requireContractError(t, err, bank.ErrUnknownOutcome)
			require.Empty(t, rec.requests(), "nothing to ask Stripe")
		})
	}
}
