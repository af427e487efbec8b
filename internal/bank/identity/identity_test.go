package identity

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
)

// Seeded cardholders of the simulator.
const (
	zhang, zhangID, zhangPhone = "张三", "110105199003070017", "13800138000"
	li, liID, liPhone          = "李四", "310115198512240024", "13900139000"
	wang, wangID, wangPhone    = "王五", "440304199208150038", "13700137000"
)

// bankEnv is a real bank simulator in process, on its own SQLite file, and a
// client pointed at it.
type bankEnv struct {
	srv  *banksim.Server
	http *httptest.Server
	c    *Client
}

func newBankEnv(t *testing.T) *bankEnv {
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
	return &bankEnv{srv: srv, http: ts, c: New(ts.URL, &http.Client{Timeout: 5 * time.Second})}
}

func (e *bankEnv) setFaults(t *testing.T, f func(*banksim.Faults)) {
	t.Helper()
	faults := banksim.DefaultFaults()
	f(&faults)
	require.NoError(t, e.srv.SetFaults(faults))
}

// admin GETs an admin route and decodes its 200 answer into out.
func (e *bankEnv) admin(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(e.http.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
}

func (e *bankEnv) executions(t *testing.T, ref string) int {
	t.Helper()
	var body struct{ Count int }
	e.admin(t, "/sim/executions?reference="+ref, &body)
	return body.Count
}

func (e *bankEnv) sms(t *testing.T, phone string) string {
	t.Helper()
	var body struct{ OTP string }
	e.admin(t, "/sim/sms?phone="+phone, &body)
	return body.OTP
}

func TestVerify(t *testing.T) {
	e := newBankEnv(t)
	ctx := context.Background()
	tests := []struct {
		name       string
		req        VerifyRequest
		result     string
		mismatched []string
		reason     string
		card       Card
	}{
		{"debit, 2 elements", VerifyRequest{"v1", banksim.CardDebit, zhang, "", ""}, ResultMatch, []string{}, "",
			Card{banksim.BankICBC, "debit", "0017"}},
		{"credit, 4 elements", VerifyRequest{"v2", banksim.CardCredit, li, liID, liPhone}, ResultMatch, []string{}, "",
			Card{banksim.BankICBC, "credit", "0025"}},
		{"credit, wrong id", VerifyRequest{"v3", banksim.CardCredit, li, zhangID, ""}, ResultMismatch, []string{"id_number"}, "",
			Card{banksim.BankICBC, "credit", "0025"}},
		{"unsupported", VerifyRequest{"v4", banksim.CardUnsupported, zhang, "", ""}, ResultMismatch, []string{"card_number"},
			ReasonUnsupportedCard, Card{Last4: "0033"}},
		{"slow sms card", VerifyRequest{"v5", banksim.CardSlowSMS, wang, wangID, wangPhone}, ResultMatch, []string{}, "",
			Card{banksim.BankABC, "debit", "0059"}},
		{"unknown card", VerifyRequest{"v6", "6222020000000000000", zhang, "", ""}, ResultMismatch, []string{"card_number"}, "",
			Card{Last4: "0000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.c.Verify(ctx, tt.req)
			require.NoError(t, err)
			require.Equal(t, VerifyResult{RequestID: tt.req.RequestID, Result: tt.result, MismatchedFields: tt.mismatched,
				Reason: tt.reason, Card: tt.card}, got)
			require.Equal(t, tt.result == ResultMatch, got.Matched())
			again, err := e.c.Verify(ctx, tt.req)
			require.NoError(t, err)
			require.Equal(t, got, again)
			require.Equal(t, 1, e.executions(t, tt.req.RequestID))
		})
	}
}

func TestTimeoutCardIsRetryableAndExecutesOnce(t *testing.T) {
	e := newBankEnv(t)
	short := New(e.http.URL, &http.Client{Timeout: 300 * time.Millisecond})
	req := VerifyRequest{"v_hang", banksim.CardTimeoutSuccess, zhang, zhangID, zhangPhone}
	_, err := short.Verify(context.Background(), req)
	require.ErrorIs(t, err, ErrUnavailable)
	got, err := short.Verify(context.Background(), req)
	require.NoError(t, err)
	require.True(t, got.Matched())
	require.Equal(t, 1, e.executions(t, "v_hang"))

	_, err = short.StartBinding(context.Background(), BindRequest{"b_hang", banksim.CardTimeoutSuccess, zhang, zhangID, zhangPhone})
	require.ErrorIs(t, err, ErrUnavailable)
	state, err := short.StartBinding(context.Background(), BindRequest{"b_hang", banksim.CardTimeoutSuccess, zhang, zhangID, zhangPhone})
	require.NoError(t, err)
	require.Equal(t, StatusOTPSent, state.Status)
	require.Equal(t, 1, e.executions(t, "b_hang"))
}

func TestErrors(t *testing.T) {
	e := newBankEnv(t)
	ctx := context.Background()

	// A contract error is permanent, and says nothing of the person.
	_, err := e.c.Verify(ctx, VerifyRequest{RequestID: "v_bad", CardNumber: "12", Name: zhang, IDNumber: zhangID})
	require.ErrorIs(t, err, ErrRejected)
	require.NotErrorIs(t, err, ErrUnavailable)
	for _, secret := range []string{zhang, zhangID, "12\""} {
		require.NotContains(t, err.Error(), secret)
	}

	_, err = e.c.Binding(ctx, "never")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, ErrRejected)
	_, err = e.c.Report(ctx, "never")
	require.ErrorIs(t, err, ErrNotFound)

	e.setFaults(t, func(f *banksim.Faults) { f.Down = true })
	_, err = e.c.Verify(ctx, VerifyRequest{"v_down", banksim.CardDebit, zhang, "", ""})
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, 0, e.executions(t, "v_down"))

	closed := New("http://127.0.0.1:1", nil)
	_, err = closed.Verify(ctx, VerifyRequest{"v_closed", banksim.CardDebit, zhang, "", ""})
	require.ErrorIs(t, err, ErrUnavailable)
}

func TestBinding(t *testing.T) {
	e := newBankEnv(t)
	ctx := context.Background()

	failed, err := e.c.StartBinding(ctx, BindRequest{"b_fail", banksim.CardDebit, zhang, zhangID, liPhone})
	require.NoError(t, err)
	require.Equal(t, BindingState{RequestID: "b_fail", Status: StatusFailed, Reason: ReasonVerificationFailed,
		MismatchedFields: []string{"phone"}}, failed)
	unsupported, err := e.c.StartBinding(ctx, BindRequest{"b_unsup", banksim.CardUnsupported, zhang, zhangID, zhangPhone})
	require.NoError(t, err)
	require.Equal(t, StatusFailed, unsupported.Status)
	require.Equal(t, ReasonUnsupportedCard, unsupported.Reason)

	started, err := e.c.StartBinding(ctx, BindRequest{"b_ok", banksim.CardCredit, li, liID, liPhone})
	require.NoError(t, err)
	require.Equal(t, StatusOTPSent, started.Status)
	require.WithinDuration(t, time.Now().Add(5*time.Minute), started.OTPExpiresAt, time.Minute)
	otp := e.sms(t, liPhone)
	wrong := "000000"
	if otp == wrong {
		wrong = "111111"
	}
	state, err := e.c.ConfirmBinding(ctx, "b_ok", wrong)
	require.NoError(t, err)
	require.Equal(t, StatusOTPIncorrect, state.Status)

	// A resend makes the first code useless.
	_, err = e.c.ResendCode(ctx, "b_ok")
	require.NoError(t, err)
	fresh := e.sms(t, liPhone)
	if fresh != otp {
		state, err = e.c.ConfirmBinding(ctx, "b_ok", otp)
		require.NoError(t, err)
		require.Equal(t, StatusOTPIncorrect, state.Status)
	}

	active, err := e.c.ConfirmBinding(ctx, "b_ok", fresh)
	require.NoError(t, err)
	require.Equal(t, StatusActive, active.Status)
	require.True(t, strings.HasPrefix(active.AgreementNo, "agr_"))
	require.Equal(t, &Card{banksim.BankICBC, "credit", "0025"}, active.Card)
	queried, err := e.c.Binding(ctx, "b_ok")
	require.NoError(t, err)
	require.Equal(t, active, queried)

	require.NoError(t, e.c.RemoveBinding(ctx, "b_ok"))
	require.NoError(t, e.c.RemoveBinding(ctx, "b_ok"))
	removed, err := e.c.Binding(ctx, "b_ok")
	require.NoError(t, err)
	require.Equal(t, StatusRemoved, removed.Status)
	require.Equal(t, active.AgreementNo, removed.AgreementNo)
	require.ErrorIs(t, e.c.RemoveBinding(ctx, "never"), ErrNotFound)
	require.Equal(t, 1, e.executions(t, "b_ok"))
}

// callbackReceiver is a bureau callback endpoint that parses what it gets with
// ParseBureauCallback, as payflow's would.
type callbackReceiver struct {
	mu   sync.Mutex
	got  [][2]string
	errs []error
}

func (rc *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, status, err := ParseBureauCallback(banksim.DefaultCallbackSecret, r.Header.Get(SignatureHeader), body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	rc.got = append(rc.got, [2]string{id, status})
}

func (rc *callbackReceiver) received() ([][2]string, []error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][2]string(nil), rc.got...), append([]error(nil), rc.errs...)
}

func TestReports(t *testing.T) {
	e := newBankEnv(t)
	ctx := context.Background()
	e.setFaults(t, func(f *banksim.Faults) { f.BureauDelayMS = 50 })
	rc := &callbackReceiver{}
	receiver := httptest.NewServer(rc)
	t.Cleanup(receiver.Close)

	tests := []struct {
		id, name, idNumber string
		status             string
		score, overdue     int
	}{
		{"r_good", zhang, zhangID, ReportReady, 720, 0},
		{"r_overdue", li, liID, ReportReady, 580, 2},
		{"r_none", "赵六", banksim.SubjectNoRecord, ReportNoRecord, 0, 0},
	}
	for _, tt := range tests {
		require.NoError(t, e.c.RequestReport(ctx, ReportRequest{tt.id, tt.name, tt.idNumber, "loan_review", receiver.URL}))
		require.NoError(t, e.c.RequestReport(ctx, ReportRequest{tt.id, tt.name, tt.idNumber, "loan_review", receiver.URL}))
	}
	for _, tt := range tests {
		var state ReportState
		require.Eventually(t, func() bool {
			var err error
			state, err = e.c.Report(ctx, tt.id)
			require.NoError(t, err)
			return state.Status != ReportProcessing
		}, 5*time.Second, 10*time.Millisecond)
		require.Equal(t, tt.status, state.Status, tt.id)
		if tt.status == ReportReady {
			require.Equal(t, tt.score, state.Report.Score)
			require.Equal(t, tt.overdue, state.Report.Summary.OverdueAccounts)
			require.Len(t, state.Report.Accounts, state.Report.Summary.CreditAccounts)
		} else {
			require.Nil(t, state.Report)
		}
		require.Equal(t, 1, e.executions(t, tt.id))
	}
	require.Eventually(t, func() bool { got, _ := rc.received(); return len(got) == len(tests) }, 5*time.Second, 10*time.Millisecond)
	got, errs := rc.received()
	require.Empty(t, errs)
	require.ElementsMatch(t, [][2]string{{"r_good", ReportReady}, {"r_overdue", ReportReady}, {"r_none", ReportNoRecord}}, got)

	// The bureau alone down: retryable, nothing executed.
	e.setFaults(t, func(f *banksim.Faults) { f.BureauDown = true })
	err := e.c.RequestReport(ctx, ReportRequest{"r_down", zhang, zhangID, "loan_review", ""})
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, 0, e.executions(t, "r_down"))
	_, err = e.c.Verify(ctx, VerifyRequest{"v_bureau_down", banksim.CardDebit, zhang, "", ""})
	require.NoError(t, err)

	err = e.c.RequestReport(ctx, ReportRequest{RequestID: "r_bad", Name: zhang, IDNumber: zhangID})
	require.ErrorIs(t, err, ErrUnavailable, "the bureau is still down")
	e.setFaults(t, func(f *banksim.Faults) {})
	err = e.c.RequestReport(ctx, ReportRequest{RequestID: "r_bad", Name: zhang, IDNumber: zhangID})
	require.ErrorIs(t, err, ErrRejected, "no purpose")
}
