package auto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// fakeChannel is a channel whose answers the test sets, and which records calls.
type fakeChannel struct {
	name string
	// charge answers Charge and Payout; nil error and zero transfer mean success.
	charge error
	// failed makes Charge and Payout answer a business failure.
	failed models.FailureCode
	// known maps references to the status Query answers; queryErr, if set, is
	// what Query answers for any other reference.
	known    map[string]models.BankStatus
	queryErr error
	calls    []string
}

func (f *fakeChannel) Name() string { return f.name }

func (f *fakeChannel) act(op, ref string, kind bank.Kind) (bank.Transfer, error) {
	f.calls = append(f.calls, op+" "+ref)
	if f.charge != nil {
		return bank.Transfer{}, fmt.Errorf("%s %s: %w", f.name, op, f.charge)
	}
	t := bank.Transfer{Reference: ref, Channel: f.name, Kind: kind, Status: models.BankSucceeded}
	if f.failed != "" {
		t.Status, t.FailureCode = models.BankFailed, f.failed
	}
	return t, nil
}

func (f *fakeChannel) Charge(_ context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	return f.act("charge", r.Reference, bank.KindCharge)
}

func (f *fakeChannel) Payout(_ context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return f.act("payout", r.Reference, bank.KindPayout)
}

func (f *fakeChannel) Refund(_ context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	return f.act("refund", r.Reference, bank.KindRefund)
}

func (f *fakeChannel) Query(_ context.Context, ref string) (bank.Transfer, error) {
	f.calls = append(f.calls, "query "+ref)
	if st, ok := f.known[ref]; ok {
		return bank.Transfer{Reference: ref, Channel: f.name, Status: st}, nil
	}
	if f.queryErr != nil {
		return bank.Transfer{}, fmt.Errorf("%s query: %w", f.name, f.queryErr)
	}
	return bank.Transfer{}, fmt.Errorf("%s query: %w", f.name, bank.ErrNotFound)
}

// Cancel confirms a cancel of any reference the fake does not know (and then
// knows it as canceled); a known reference answers its status.
func (f *fakeChannel) Cancel(_ context.Context, ref string) (bank.Transfer, error) {
	f.calls = append(f.calls, "cancel "+ref)
	if st, ok := f.known[ref]; ok {
		return bank.Transfer{Reference: ref, Channel: f.name, Status: st}, nil
	}
	if f.queryErr != nil {
		return bank.Transfer{}, fmt.Errorf("%s cancel: %w", f.name, f.queryErr)
	}
	if f.known == nil {
		f.known = map[string]models.BankStatus{}
	}
	f.known[ref] = models.BankCanceled
	return bank.Transfer{Reference: ref, Channel: f.name, Status: models.BankCanceled}, nil
}

func (f *fakeChannel) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	return nil, errors.New("not used")
}

// router builds an auto channel with routes over the fakes.
func router(t *testing.T, routes string, fakes ...*fakeChannel) *Channel {
	t.Helper()
	rs, err := ParseRoutes(routes)
	require.NoError(t, err)
	reg := bank.NewRegistry()
	for _, f := range fakes {
		reg.Add(f)
	}
	c, err := New(rs, reg.Get)
	require.NoError(t, err)
	return c
}

// routerAB builds an auto channel with routes over copies of a and b, named "a"
// and "b", and returns it with the copies.
func routerAB(t *testing.T, routes string, a, b fakeChannel) (*Channel, *fakeChannel, *fakeChannel) {
	t.Helper()
	a.name, b.name = "a", "b"
	return router(t, routes, &a, &b), &a, &b
}

// queriedAB is the calls of a Query that asked a, then b, for pay_1.
var queriedAB = []string{"a: query pay_1", "b: query pay_1"}

// calls lists every call of every fake, prefixed with its name.
func calls(fakes ...*fakeChannel) []string {
	var out []string
	for _, f := range fakes {
		for _, c := range f.calls {
			out = append(out, f.name+": "+c)
		}
	}
	return out
}

func TestChargeFailover(t *testing.T) {
	tests := []struct {
		name       string
		a, b       fakeChannel
		want       error
		wantChan   string
		wantStatus models.BankStatus
		wantCalls  []string
	}{
		{
			name: "first channel takes it",
			want: nil, wantChan: "a", wantStatus: models.BankSucceeded,
			wantCalls: []string{"a: charge pay_1"},
		},
		{
			name: "first channel down: the second takes it with the same reference",
			a:    fakeChannel{charge: bank.ErrUnavailable},
			want: nil, wantChan: "b", wantStatus: models.BankSucceeded,
			wantCalls: []string{"a: charge pay_1", "b: charge pay_1"},
		},
		{
			name:      "unknown outcome stops: no failover after the bank may have acted",
			a:         fakeChannel{charge: bank.ErrUnknownOutcome},
			want:      bank.ErrUnknownOutcome,
			wantCalls: []string{"a: charge pay_1"},
		},
		{
			name: "a decline is the answer, not a reason to try elsewhere",
			a:    fakeChannel{failed: models.FailureCardDeclined},
			want: nil, wantChan: "a", wantStatus: models.BankFailed,
			wantCalls: []string{"a: charge pay_1"},
		},
		{
			name:      "an invalid request is not failed over",
			a:         fakeChannel{charge: bank.ErrInvalid},
			want:      bank.ErrInvalid,
			wantCalls: []string{"a: charge pay_1"},
		},
		{
			name:      "every channel down",
			a:         fakeChannel{charge: bank.ErrUnavailable},
			b:         fakeChannel{charge: bank.ErrUnavailable},
			want:      bank.ErrUnavailable,
			wantCalls: []string{"a: charge pay_1", "b: charge pay_1"},
		},
		{
			name:      "first down, second unknown: unknown",
			a:         fakeChannel{charge: bank.ErrUnavailable},
			b:         fakeChannel{charge: bank.ErrUnknownOutcome},
			want:      bank.ErrUnknownOutcome,
			wantCalls: []string{"a: charge pay_1", "b: charge pay_1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, a, b := routerAB(t, `[{"channels":["a","b"]}]`, tc.a, tc.b)
			for _, op := range []string{"charge", "payout"} {
				a.calls, b.calls = nil, nil
				var got bank.Transfer
				var err error
				if op == "charge" {
					got, err = c.Charge(context.Background(), bank.ChargeRequest{Reference: "pay_1", Amount: 100, Currency: "CNY"})
				} else {
					got, err = c.Payout(context.Background(), bank.PayoutRequest{Reference: "pay_1", Amount: 100, Currency: "CNY"})
				}
				want := make([]string, len(tc.wantCalls))
				for i, w := range tc.wantCalls {
					want[i] = replaceOp(w, op)
				}
				require.Equal(t, want, calls(a, b), op)
				if tc.want != nil {
					require.ErrorIs(t, err, tc.want, op)
					for _, other := range []error{bank.ErrUnavailable, bank.ErrUnknownOutcome, bank.ErrInvalid, bank.ErrNotFound} {
						if other != tc.want {
							require.NotErrorIs(t, err, other, op)
						}
					}
					continue
				}
				require.NoError(t, err, op)
				require.Equal(t, tc.wantChan, got.Channel, op)
				require.Equal(t, tc.wantStatus, got.Status, op)
			}
		})
	}
}

func replaceOp(call, op string) string {
	if op == "charge" {
		return call
	}
	var name, ref string
	_, _ = fmt.Sscanf(call, "%s charge %s", &name, &ref)
	return name + " " + op + " " + ref
}

func TestRouteSelection(t *testing.T) {
	routes := `[
		{"currency":"CNY","max_amount":10000,"channels":["a"]},
		{"currency":"CNY","min_amount":10001,"channels":["b"]},
		{"merchant":"mch_vip","channels":["c","a"]},
		{"currency":"USD","channels":["b","c"]}
	]`
	tests := []struct {
		name     string
		merchant string
		amount   int64
		currency models.Currency
		want     string
		wantErr  error
	}{
		{"small CNY", "mch_1", 10000, "CNY", "a", nil},
		{"large CNY", "mch_1", 10001, "CNY", "b", nil},
		{"first match wins over the merchant rule", "mch_vip", 50, "CNY", "a", nil},
		{"merchant rule", "mch_vip", 50, "JPY", "c", nil},
		{"currency rule", "mch_1", 50, "USD", "b", nil},
		{"no route", "mch_1", 50, "JPY", "", bank.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, c := &fakeChannel{name: "a"}, &fakeChannel{name: "b"}, &fakeChannel{name: "c"}
			r := router(t, routes, a, b, c)
			got, err := r.Charge(context.Background(), bank.ChargeRequest{Reference: "pay_1", MerchantID: tc.merchant, Amount: tc.amount, Currency: tc.currency})
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Contains(t, err.Error(), "no auto route")
				require.Empty(t, calls(a, b, c))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Channel)
			require.Equal(t, []string{tc.want + ": charge pay_1"}, calls(a, b, c))
		})
	}
}

func TestQueryAcrossChannels(t *testing.T) {
	tests := []struct {
		name      string
		a, b      fakeChannel
		want      error
		wantChan  string
		wantCalls []string
	}{
		{
			name:     "found on the second",
			b:        fakeChannel{known: map[string]models.BankStatus{"pay_1": models.BankSucceeded}},
			wantChan: "b", wantCalls: queriedAB,
		},
		{
			name:     "found on the first: the second is not asked",
			a:        fakeChannel{known: map[string]models.BankStatus{"pay_1": models.BankProcessing}},
			wantChan: "a", wantCalls: []string{"a: query pay_1"},
		},
		{
			name:      "never seen anywhere",
			want:      bank.ErrNotFound,
			wantCalls: queriedAB,
		},
		{
			name:      "one channel cannot answer: not found is not proved",
			a:         fakeChannel{queryErr: bank.ErrUnavailable},
			want:      bank.ErrUnknownOutcome,
			wantCalls: queriedAB,
		},
		{
			name:      "one channel's query has an unknown outcome",
			b:         fakeChannel{queryErr: bank.ErrUnknownOutcome},
			want:      bank.ErrUnknownOutcome,
			wantCalls: queriedAB,
		},
		{
			name:     "one channel down, the other knows it",
			a:        fakeChannel{queryErr: bank.ErrUnavailable},
			b:        fakeChannel{known: map[string]models.BankStatus{"pay_1": models.BankFailed}},
			wantChan: "b", wantCalls: queriedAB,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The catch-all route names b first, but Query asks in the fixed
			// order of first appearance across the routes: a, then b.
			c, a, b := routerAB(t, `[{"currency":"USD","channels":["a"]},{"channels":["b","a"]}]`, tc.a, tc.b)
			got, err := c.Query(context.Background(), "pay_1")
			require.Equal(t, tc.wantCalls, calls(a, b))
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				if tc.want != bank.ErrNotFound {
					require.NotErrorIs(t, err, bank.ErrNotFound)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantChan, got.Channel)
		})
	}
}

func TestRefundGoesToTheChargingChannel(t *testing.T) {
	tests := []struct {
		name      string
		a, b      fakeChannel
		want      error
		wantCalls []string
	}{
		{
			name:      "charged on b",
			b:         fakeChannel{known: map[string]models.BankStatus{"pay_1": models.BankSucceeded}},
			wantCalls: []string{"a: query pay_1", "b: query pay_1", "b: refund re_1"},
		},
		{
			name:      "charged nowhere",
			want:      bank.ErrInvalid,
			wantCalls: queriedAB,
		},
		{
			name:      "cannot tell where: nothing refunded, safe to retry",
			a:         fakeChannel{queryErr: bank.ErrUnknownOutcome},
			want:      bank.ErrUnavailable,
			wantCalls: queriedAB,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, a, b := routerAB(t, `[{"channels":["a","b"]}]`, tc.a, tc.b)
			got, err := c.Refund(context.Background(), bank.RefundRequest{Reference: "re_1", ChargeReference: "pay_1", Amount: 50, Currency: "CNY"})
			require.Equal(t, tc.wantCalls, calls(a, b))
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "b", got.Channel)
			require.Equal(t, "re_1", got.Reference)
		})
	}
}

func TestStatementIsPerRealChannel(t *testing.T) {
	c := router(t, `[{"channels":["a","b"]}]`, &fakeChannel{name: "a"}, &fakeChannel{name: "b"})
	_, err := c.Statement(context.Background(), time.Now())
	require.ErrorIs(t, err, bank.ErrInvalid)
	require.Contains(t, err.Error(), "a, b")
}

func TestParseRoutes(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"default", DefaultRoutes, ""},
		{"example", `[{"currency":"CNY","channels":["banksim","stripe"]},{"channels":["stripe","banksim"]}]`, ""},
		{"bounds and merchant", `[{"min_amount":1,"max_amount":100,"merchant":"mch_demo","channels":["banksim"]}]`, ""},
		{"not JSON", `[{`, "auto routes"},
		{"unknown field", `[{"currency":"CNY","channel":["stripe"]}]`, "unknown field"},
		{"no routes", `[]`, "at least one route"},
		{"no channels", `[{"currency":"CNY"}]`, "no channels"},
		{"bad currency", `[{"currency":"cny","channels":["stripe"]}]`, "not a supported currency"},
		{"min above max", `[{"min_amount":10,"max_amount":5,"channels":["stripe"]}]`, "amount bounds"},
		{"routes to itself", `[{"channels":["auto"]}]`, "itself"},
		{"trailing data", `[{"channels":["stripe"]}] []`, "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRoutes(tc.json)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestNewRefusesUnknownChannels(t *testing.T) {
	rs, err := ParseRoutes(`[{"channels":["a","paypal"]}]`)
	require.NoError(t, err)
	reg := bank.NewRegistry(&fakeChannel{name: "a"})
	_, err = New(rs, reg.Get)
	require.ErrorIs(t, err, bank.ErrUnknownChannel)
}

// Route names the channels of the first matching route, in order, and refuses a
// request no route takes.
func TestRoute(t *testing.T) {
	a, b := &fakeChannel{name: "a"}, &fakeChannel{name: "b"}
	r := router(t, `[{"currency":"USD","channels":["b"]},{"channels":["a","b"]}]`, a, b)
	got, err := r.Route("mch_1", 100, "USD")
	require.NoError(t, err)
	require.Equal(t, []string{"b"}, got)
	got, err = r.Route("mch_1", 100, "CNY")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, got)
	r = router(t, `[{"currency":"USD","channels":["b"]}]`, a, b)
	_, err = r.Route("mch_1", 100, "CNY")
	require.ErrorIs(t, err, bank.ErrInvalid)
}

// Cancel of a reference one channel has goes to that channel only; a reference no
// channel has is canceled at every channel, so that none of them executes it later.
func TestCancel(t *testing.T) {
	a, b := &fakeChannel{name: "a"}, &fakeChannel{name: "b", known: map[string]models.BankStatus{"pay_1": models.BankProcessing}}
	r := router(t, `[{"channels":["a","b"]}]`, a, b)
	tr, err := r.Cancel(context.Background(), "pay_1")
	require.NoError(t, err)
	require.Equal(t, "b", tr.Channel)
	require.NotContains(t, a.calls, "cancel pay_1")

	tr, err = r.Cancel(context.Background(), "pay_2")
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, tr.Status)
	require.Contains(t, a.calls, "cancel pay_2")
	require.Contains(t, b.calls, "cancel pay_2")

	b.queryErr = bank.ErrUnknownOutcome
	_, err = r.Cancel(context.Background(), "pay_3")
	require.ErrorIs(t, err, bank.ErrUnknownOutcome)
}
