package sim

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// bankEnv is a real bank simulator in process, on its own SQLite file, and
// the adapter pointed at it.
type bankEnv struct {
	srv  *banksim.Server
	http *httptest.Server
	ch   *Channel
}

func newBankEnv(t *testing.T, timeout time.Duration) *bankEnv {
	t.Helper()
	l := logrus.New()
	l.SetOutput(io.Discard)
	srv, err := banksim.New(banksim.Config{DBPath: filepath.Join(t.TempDir(), "banksim.db"), Logger: logrus.NewEntry(l)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv.Start(ctx)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		cancel()
		srv.Close()
	})
	// Processing transfers stay processing for the test's life unless a case
	// says otherwise.
	require.NoError(t, srv.SetFaults(banksim.Faults{ProcessingMS: time.Hour.Milliseconds()}))
	return &bankEnv{srv: srv, http: ts, ch: New(ts.URL, "", timeout)}
}

// executions asks the simulator's admin API how often it accepted ref.
func (e *bankEnv) executions(t *testing.T, ref string) int {
	t.Helper()
	resp, err := http.Get(e.http.URL + "/sim/executions?reference=" + ref)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct{ Count int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Count
}

// requireStatus checks that the bank answers a query for ref with status want.
func (e *bankEnv) requireStatus(t *testing.T, ref string, want models.BankStatus, msgAndArgs ...any) {
	t.Helper()
	q, err := e.ch.Query(context.Background(), ref)
	require.NoError(t, err)
	require.Equal(t, want, q.Status, msgAndArgs...)
}

func chargeReq(ref, token string) bank.ChargeRequest {
	return bank.ChargeRequest{Reference: ref, Amount: 1250, Currency: "CNY", Token: token}
}

func payoutReq(ref, account string) bank.PayoutRequest {
	return bank.PayoutRequest{Reference: ref, Amount: 1250, Currency: "CNY", BankAccount: account}
}

// Cancel against the real simulator: each answer of the bank becomes the
// contract's transfer or error, and what the bank did afterwards is what
// the answer promised.
func TestCancel(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// setup creates what the case cancels and returns its reference.
		setup func(t *testing.T, e *bankEnv) string
		// faults, when set, are in force for the cancel.
		faults *banksim.Faults
		// want is the contract error, or nil for a transfer with wantStatus.
		want       error
		wantStatus models.BankStatus
		wantCode   models.FailureCode
		// after checks what the bank does once the cancel has answered.
		after func(t *testing.T, e *bankEnv, ref string, before, got bank.Transfer)
	}{
		{
			name:       "processing charge is canceled",
			setup:      newCharge(banksim.TokenProcessing, models.BankProcessing),
			wantStatus: models.BankCanceled,
			after: func(t *testing.T, e *bankEnv, ref string, before, got bank.Transfer) {
				require.Equal(t, before.BankID, got.BankID)
				require.Equal(t, bank.KindCharge, got.Kind)
				require.Equal(t, int64(1250), got.Amount)
				again, err := e.ch.Charge(ctx, chargeReq(ref, banksim.TokenProcessing))
				require.NoError(t, err)
				require.Equal(t, models.BankCanceled, again.Status, "a repeated charge answers the canceled transfer")
				require.Equal(t, 1, e.executions(t, ref), "accepted once, never again")
			},
		},
		{
			name: "processing payout is canceled",
			setup: func(t *testing.T, e *bankEnv) string {
				ref := models.NewID(models.PrefixWithdrawal)
				got, err := e.ch.Payout(ctx, payoutReq(ref, banksim.AccountProcessing))
				require.NoError(t, err)
				require.Equal(t, models.BankProcessing, got.Status)
				return ref
			},
			wantStatus: models.BankCanceled,
			after: func(t *testing.T, e *bankEnv, ref string, _, got bank.Transfer) {
				require.Equal(t, bank.KindPayout, got.Kind)
				e.requireStatus(t, ref, models.BankCanceled)
			},
		},
		{
			name:       "succeeded charge answers its final state",
			setup:      newCharge(banksim.TokenSuccess, models.BankSucceeded),
			wantStatus: models.BankSucceeded,
			after: func(t *testing.T, e *bankEnv, ref string, before, got bank.Transfer) {
				require.Equal(t, before.BankID, got.BankID)
				e.requireStatus(t, ref, models.BankSucceeded, "a cancel never undoes an executed transfer")
			},
		},
		{
			name:       "declined charge answers its final state",
			setup:      newCharge(banksim.TokenDecline, models.BankFailed),
			wantStatus: models.BankFailed,
			wantCode:   models.FailureCardDeclined,
		},
		{
			name:       "never seen reference is canceled for good",
			setup:      func(*testing.T, *bankEnv) string { return models.NewID(models.PrefixPayment) },
			wantStatus: models.BankCanceled,
			after: func(t *testing.T, e *bankEnv, ref string, _, got bank.Transfer) {
				charged, err := e.ch.Charge(ctx, chargeReq(ref, banksim.TokenSuccess))
				require.NoError(t, err)
				require.Equal(t, models.BankCanceled, charged.Status, "a charge after the cancel never executes")
				require.Equal(t, got.BankID, charged.BankID)
				e.requireStatus(t, ref, models.BankCanceled)
				require.Equal(t, 0, e.executions(t, ref))
			},
		},
		{
			name:   "refuse_cancel: processing charge is not cancelable",
			setup:  newCharge(banksim.TokenProcessing, models.BankProcessing),
			faults: &banksim.Faults{ProcessingMS: time.Hour.Milliseconds(), RefuseCancel: true},
			want:   bank.ErrNotCancelable,
			after: func(t *testing.T, e *bankEnv, ref string, _, _ bank.Transfer) {
				e.requireStatus(t, ref, models.BankProcessing, "it may still execute")
			},
		},
		{
			name:   "refuse_cancel: never seen reference is not cancelable",
			setup:  func(*testing.T, *bankEnv) string { return models.NewID(models.PrefixPayment) },
			faults: &banksim.Faults{RefuseCancel: true},
			want:   bank.ErrNotCancelable,
			after: func(t *testing.T, e *bankEnv, ref string, _, _ bank.Transfer) {
				_, err := e.ch.Query(ctx, ref)
				require.ErrorIs(t, err, bank.ErrNotFound, "no tombstone was written")
			},
		},
		{
			name:       "refuse_cancel: succeeded charge still answers its final state",
			setup:      newCharge(banksim.TokenSuccess, models.BankSucceeded),
			faults:     &banksim.Faults{RefuseCancel: true},
			wantStatus: models.BankSucceeded,
		},
		{
			name:   "bank down: unavailable, nothing canceled",
			setup:  newCharge(banksim.TokenProcessing, models.BankProcessing),
			faults: &banksim.Faults{ProcessingMS: time.Hour.Milliseconds(), Down: true},
			want:   bank.ErrUnavailable,
			after: func(t *testing.T, e *bankEnv, ref string, _, _ bank.Transfer) {
				require.NoError(t, e.srv.SetFaults(banksim.Faults{ProcessingMS: time.Hour.Milliseconds()}))
				e.requireStatus(t, ref, models.BankProcessing)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBankEnv(t, 5*time.Second)
			ref := tt.setup(t, e)
			before, _ := e.ch.Query(ctx, ref) // the zero transfer for a reference never seen
			if tt.faults != nil {
				require.NoError(t, e.srv.SetFaults(*tt.faults))
			}
			got, err := e.ch.Cancel(ctx, ref)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
			} else {
				require.NoError(t, err)
				require.Equal(t, ref, got.Reference)
				require.Equal(t, Name, got.Channel)
				require.Equal(t, tt.wantStatus, got.Status)
				require.Equal(t, tt.wantCode, got.FailureCode)
				require.NotEmpty(t, got.BankID)
			}
			if tt.after != nil {
				tt.after(t, e, ref, before, got)
			}
		})
	}
}

// newCharge is a case's setup: a charge of a new payment reference with token, which
// the bank answers with want.
func newCharge(token string, want models.BankStatus) func(*testing.T, *bankEnv) string {
	return func(t *testing.T, e *bankEnv) string {
		return mustCharge(t, e, models.NewID(models.PrefixPayment), token, want)
	}
}

func mustCharge(t *testing.T, e *bankEnv, ref, token string, want models.BankStatus) string {
	t.Helper()
	got, err := e.ch.Charge(context.Background(), chargeReq(ref, token))
	require.NoError(t, err)
	require.Equal(t, want, got.Status)
	return ref
}

// The bank's connection refused: nothing reached it, so the cancel is
// unavailable (safe to retry), not an unknown outcome.
func TestCancelServerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = New("http://"+addr, "", time.Second).Cancel(context.Background(), models.NewID(models.PrefixPayment))
	require.ErrorIs(t, err, bank.ErrUnavailable)
}

// An answer that does not come before the adapter's timeout is an unknown
// outcome: the caller must ask again before concluding anything.
func TestCancelTimeoutIsUnknownOutcome(t *testing.T) {
	e := newBankEnv(t, 5*time.Second)
	ref := mustCharge(t, e, models.NewID(models.PrefixPayment), banksim.TokenProcessing, models.BankProcessing)
	require.NoError(t, e.srv.SetFaults(banksim.Faults{ProcessingMS: time.Hour.Milliseconds(), LatencyMS: 2000}))
	impatient := New(e.http.URL, "", 100*time.Millisecond)
	_, err := impatient.Cancel(context.Background(), ref)
	require.ErrorIs(t, err, bank.ErrUnknownOutcome)
	require.NotErrorIs(t, err, bank.ErrUnavailable)
}
