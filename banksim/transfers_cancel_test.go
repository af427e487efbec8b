package banksim

import (
	"context"
	"fmt"
	"math/bits"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// cancel sends POST /v1/transfers/{ref}/cancel and returns the status and body.
func (e *testEnv) cancel(ref string) (int, []byte) {
	e.t.Helper()
	return e.do(http.MethodPost, "/v1/transfers/"+ref+"/cancel", nil)
}

// canceled cancels ref, which must answer 200 with a transfer.
func (e *testEnv) canceled(ref string) Transfer {
	e.t.Helper()
	code, raw := e.cancel(ref)
	if code != http.StatusOK {
		e.t.Fatalf("cancel %s: status %d, body %s", ref, code, raw)
	}
	return decodeAs[Transfer](e.t, raw)
}

// statementLines counts the lines of ref in the statement of day.
func (e *testEnv) statementLines(day time.Time, ref string) int {
	e.t.Helper()
	code, lines := e.statement("banksim-" + day.UTC().Format(dayLayout) + ".csv")
	if code != http.StatusOK {
		e.t.Fatalf("statement of %s: status %d", day.Format(dayLayout), code)
	}
	n := 0
	for _, l := range lines {
		if l[0] == ref {
			n++
		}
	}
	return n
}

// callbackEvents lists the events queued in the outbox for ref, in order.
func (e *testEnv) callbackEvents(ref string) []CallbackEvent {
	e.t.Helper()
	var evs []CallbackEvent
	for _, body := range callbackColumn[[]byte](e, "body", ref) {
		evs = append(evs, decodeAs[CallbackEvent](e.t, body))
	}
	return evs
}

// A processing transfer canceled before it completes: it answers canceled,
// moves nothing, has no statement line, is called back as canceled, stays
// canceled when the completer passes its due time, and a repeated request
// answers it without executing again.
func TestCancelProcessingTransfer(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		body      map[string]any
		witness   map[string]any
		kind      Kind
		witnessBy int64 // the witness's movement of the house balance
	}{
		{"charge", "/v1/charges", charge("pay_cancel", TokenProcessing, 4100), charge("pay_witness", TokenProcessing, 7), KindCharge, 7},
		{"payout", "/v1/payouts", payout("wd_cancel", AccountProcessing, 4100), payout("wd_witness", AccountProcessing, 7), KindPayout, -7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t)
			day := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			clock := &fakeClock{}
			clock.Set(day)
			e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL}, func(s *Server) { s.now = clock.Now })
			e.setFaults(map[string]any{"processing_ms": 1000})
			ref, witnessRef := tt.body["reference"].(string), tt.witness["reference"].(string)

			created := e.transfer(tt.path, tt.body)
			if created.Status != StatusProcessing {
				t.Fatalf("created %+v, want processing", created)
			}
			got := e.canceled(ref)
			if got.Status != StatusCanceled || got.FailureCode != "" || got.BankID != created.BankID || got.Kind != tt.kind ||
				got.Amount != 4100 || got.Currency != "CNY" || got.CompletedAt == nil || !got.CompletedAt.Equal(day) {
				t.Fatalf("cancel answered %+v, want the transfer canceled at %v", got, day)
			}
			if code, q, _ := e.get(ref); code != http.StatusOK || q.Status != StatusCanceled {
				t.Fatalf("query after cancel: %d %+v", code, q)
			}

			// The witness is due after the canceled transfer was: once the
			// completer has completed it, it has passed the canceled one too.
			e.transfer(tt.path, tt.witness)
			clock.Set(day.Add(time.Hour))
			kick(e.srv.wakeComplete)
			eventually(t, "the witness to complete", func() bool {
				_, w, _ := e.get(witnessRef)
				return w.Status == StatusSucceeded
			})
			// The completer's own step, as when it listed the transfer as due
			// just before the cancel committed, leaves it canceled too.
			if err := e.srv.complete(context.Background(), ref); err != nil {
				t.Fatalf("complete: %v", err)
			}
			if _, q, _ := e.get(ref); q.Status != StatusCanceled || !q.CompletedAt.Equal(day) {
				t.Fatalf("after the completer: %+v, want still canceled", q)
			}
			if d := e.balance("CNY") - openingFloat; d != tt.witnessBy {
				t.Fatalf("house balance moved %d, want only the witness's %d", d, tt.witnessBy)
			}
			if n := e.statementLines(day, ref); n != 0 {
				t.Fatalf("%d statement lines for the canceled transfer, want none", n)
			}
			if n := e.statementLines(day.Add(time.Hour), witnessRef); n != 1 {
				t.Fatalf("%d statement lines for the witness, want 1", n)
			}

			// Accepted once, executed never, answered canceled from now on.
			again := e.transfer(tt.path, tt.body)
			if again.Status != StatusCanceled || again.BankID != created.BankID {
				t.Fatalf("repeated request answered %+v, want the canceled transfer", again)
			}
			if n := e.executions(ref); n != 1 {
				t.Fatalf("executions = %d, want 1 (accepted once, then canceled)", n)
			}

			eventually(t, "the callbacks", func() bool { return len(rc.received()) == 2 })
			for _, cb := range rc.received() {
				if cb.event.Reference == ref && (cb.event.Status != StatusCanceled || cb.event.BankID != created.BankID) {
					t.Fatalf("callback of the canceled transfer: %+v", cb.event)
				}
			}
			if evs := e.callbackEvents(ref); len(evs) != 1 || evs[0].Status != StatusCanceled {
				t.Fatalf("outbox of %s: %+v, want one canceled event", ref, evs)
			}
		})
	}
}

// A cancel's callbacks follow duplicate_callbacks as a completion's do: the
// canceled event twice, then a stale processing one.
func TestCancelCallbacksFollowDuplicateCallbacks(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL})
	e.setFaults(map[string]any{"processing_ms": time.Hour.Milliseconds(), "duplicate_callbacks": true})
	created := e.transfer("/v1/charges", charge("pay_cancel_dup", TokenProcessing, 10))
	e.canceled("pay_cancel_dup")
	eventually(t, "three callbacks", func() bool { return len(rc.received()) == 3 })
	got := rc.received()
	first, second, stale := got[0].event, got[1].event, got[2].event
	if first.Status != StatusCanceled || second.Status != StatusCanceled || first.EventID != second.EventID {
		t.Fatalf("the canceled event was not sent twice: %+v / %+v", first, second)
	}
	if stale.Status != StatusProcessing || stale.CompletedAt != nil || stale.BankID != created.BankID || stale.EventID == first.EventID {
		t.Fatalf("third callback %+v, want a stale processing event of the same transfer", stale)
	}
	for i, cb := range got {
		if err := VerifyCallback(DefaultCallbackSecret, cb.signature, cb.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("callback %d: %v", i, err)
		}
	}
}

// A cancel never undoes an executed transfer: it answers the final transfer
// unchanged, and the money and the statement line stay.
func TestCancelFinalTransferAnswersItUnchanged(t *testing.T) {
	e := newEnv(t, Config{})
	e.transfer("/v1/charges", charge("pay_final_ok", TokenSuccess, 1000))
	e.transfer("/v1/charges", charge("pay_final_declined", TokenDecline, 1000))
	e.transfer("/v1/payouts", payout("wd_final_ok", AccountSuccess, 300))
	e.transfer("/v1/payouts", payout("wd_final_closed", AccountClosed, 300))
	e.transfer("/v1/refunds", refund("re_final", "pay_final_ok", 200))
	e.setFaults(map[string]any{"processing_ms": 0})
	e.transfer("/v1/charges", charge("pay_final_proc", TokenProcessing, 50))
	eventually(t, "pay_final_proc to complete", func() bool {
		_, got, _ := e.get("pay_final_proc")
		return got.Status == StatusSucceeded
	})
	tests := []struct {
		ref    string
		status Status
	}{
		{"pay_final_ok", StatusSucceeded},
		{"pay_final_declined", StatusFailed},
		{"wd_final_ok", StatusSucceeded},
		{"wd_final_closed", StatusFailed},
		{"re_final", StatusSucceeded},
		{"pay_final_proc", StatusSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			_, before, _ := e.get(tt.ref)
			balance := e.balance("CNY")
			got := e.canceled(tt.ref)
			if got.Status != tt.status || got.BankID != before.BankID || got.FailureCode != before.FailureCode ||
				got.CompletedAt == nil || !got.CompletedAt.Equal(*before.CompletedAt) {
				t.Fatalf("cancel answered %+v, want the final transfer %+v", got, before)
			}
			if _, after, _ := e.get(tt.ref); after.Status != tt.status {
				t.Fatalf("query after cancel: %+v", after)
			}
			if b := e.balance("CNY"); b != balance {
				t.Fatalf("cancel moved the house balance by %d", b-balance)
			}
			if n := e.statementLines(*got.CompletedAt, tt.ref); n != 1 {
				t.Fatalf("%d statement lines, want the movement's 1", n)
			}
			if n := e.executions(tt.ref); n != 1 {
				t.Fatalf("executions = %d, want 1", n)
			}
		})
	}
	// +1000 charge, -300 payout, -200 refund, +50 processing charge.
	if got, want := e.balance("CNY"), openingFloat+1000-300-200+50; got != want {
		t.Fatalf("balance = %d, want %d", got, want)
	}
}

// A reference canceled before the bank saw it is refused forever: every
// later request of it, whatever its kind or amount, answers the canceled
// tombstone and executes nothing.
func TestCancelNeverSeenReferenceRefusesItForever(t *testing.T) {
	e := newEnv(t, Config{})
	e.transfer("/v1/charges", charge("pay_base", TokenSuccess, 1000))
	balance := e.balance("CNY")
	// A refused flaky attempt is not a sighting: nothing executed.
	if code, _ := e.do(http.MethodPost, "/v1/charges", charge("pay_ghost", TokenFlaky, 500)); code != http.StatusServiceUnavailable {
		t.Fatalf("flaky attempt: %d, want 503", code)
	}
	tomb := e.canceled("pay_ghost")
	if tomb.Reference != "pay_ghost" || tomb.Status != StatusCanceled || tomb.Kind != "" || tomb.Amount != 0 ||
		tomb.Currency != "" || tomb.CompletedAt == nil || len(tomb.BankID) < 5 || tomb.BankID[:4] != "sim_" {
		t.Fatalf("cancel answered %+v, want a canceled tombstone", tomb)
	}
	tests := []struct {
		name string
		path string
		body map[string]any
	}{
		{"charge", "/v1/charges", charge("pay_ghost", TokenSuccess, 500)},
		{"charge of another amount", "/v1/charges", charge("pay_ghost", TokenSuccess, 501)},
		{"processing charge", "/v1/charges", charge("pay_ghost", TokenProcessing, 500)},
		{"flaky charge, past its refusals", "/v1/charges", charge("pay_ghost", TokenFlaky, 500)},
		{"payout", "/v1/payouts", payout("pay_ghost", AccountSuccess, 500)},
		{"refund", "/v1/refunds", refund("pay_ghost", "pay_base", 500)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: the flaky one would execute on its third attempt.
			for range 2 {
				got := e.transfer(tt.path, tt.body)
				if got.Status != StatusCanceled || got.BankID != tomb.BankID || got.Kind != "" {
					t.Fatalf("answered %+v, want the tombstone %+v", got, tomb)
				}
			}
		})
	}
	if code, got, _ := e.get("pay_ghost"); code != http.StatusOK || got.BankID != tomb.BankID || got.Status != StatusCanceled {
		t.Fatalf("query: %d %+v, want the tombstone", code, got)
	}
	if again := e.canceled("pay_ghost"); again.BankID != tomb.BankID || !again.CompletedAt.Equal(*tomb.CompletedAt) {
		t.Fatalf("second cancel %+v, want the same tombstone", again)
	}
	if n := e.executions("pay_ghost"); n != 0 {
		t.Fatalf("executions = %d, want 0: a tombstone is not an execution", n)
	}
	if b := e.balance("CNY"); b != balance {
		t.Fatalf("balance moved %d", b-balance)
	}
	if n := e.statementLines(*tomb.CompletedAt, "pay_ghost"); n != 0 {
		t.Fatalf("%d statement lines for a tombstone, want none", n)
	}
	if evs := e.callbackEvents("pay_ghost"); len(evs) != 0 {
		t.Fatalf("callbacks queued for a tombstone: %+v", evs)
	}
}

func TestCancelInvalidReference(t *testing.T) {
	e := newEnv(t, Config{})
	code, raw := e.cancel("pay%20x")
	if code != http.StatusBadRequest || decodeAs[errorBody](t, raw).Error != ErrCodeInvalidRequest {
		t.Fatalf("%d %s, want 400 invalid_request", code, raw)
	}
	if code, _, _ := e.get("pay%20x"); code != http.StatusNotFound {
		t.Fatalf("query: %d, want 404: nothing recorded", code)
	}
}

// refuse_cancel makes the bank unable to stop what is not final: 409
// not_cancelable and nothing recorded; a final transfer still answers its
// final state, and {} resets the knob.
func TestRefuseCancel(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"processing_ms": time.Hour.Milliseconds()})
	e.transfer("/v1/charges", charge("pay_rf_proc", TokenProcessing, 100))
	e.transfer("/v1/charges", charge("pay_rf_done", TokenSuccess, 100))
	e.canceled("pay_rf_tomb")
	if f := e.setFaults(map[string]any{"processing_ms": time.Hour.Milliseconds(), "refuse_cancel": true}); !f.RefuseCancel {
		t.Fatalf("faults %+v, want refuse_cancel", f)
	}
	tests := []struct {
		ref       string
		wantCode  int
		wantErr   string
		wantAfter Status // what the query answers after the cancel ("" for 404)
	}{
		{"pay_rf_proc", http.StatusConflict, ErrCodeNotCancelable, StatusProcessing},
		{"pay_rf_never", http.StatusConflict, ErrCodeNotCancelable, ""},
		{"pay_rf_done", http.StatusOK, "", StatusSucceeded},
		{"pay_rf_tomb", http.StatusOK, "", StatusCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			code, raw := e.cancel(tt.ref)
			if code != tt.wantCode {
				t.Fatalf("cancel: %d %s, want %d", code, raw, tt.wantCode)
			}
			if code == http.StatusOK {
				if got := decodeAs[Transfer](t, raw); got.Status != tt.wantAfter {
					t.Fatalf("cancel answered %+v, want %s", got, tt.wantAfter)
				}
			} else if got := decodeAs[errorBody](t, raw).Error; got != tt.wantErr {
				t.Fatalf("error %q, want %q", got, tt.wantErr)
			}
			code, got, _ := e.get(tt.ref)
			if tt.wantAfter == "" {
				if code != http.StatusNotFound {
					t.Fatalf("query: %d %+v, want 404: no tombstone written", code, got)
				}
			} else if got.Status != tt.wantAfter {
				t.Fatalf("query: %+v, want %s", got, tt.wantAfter)
			}
		})
	}
	// The refused transfer may still execute: it does, when due.
	if err := e.srv.complete(context.Background(), "pay_rf_proc"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if _, got, _ := e.get("pay_rf_proc"); got.Status != StatusSucceeded {
		t.Fatalf("refused cancel then completion: %+v, want succeeded", got)
	}
	// The never-seen reference was not canceled: it executes.
	if got := e.transfer("/v1/charges", charge("pay_rf_never", TokenSuccess, 100)); got.Status != StatusSucceeded {
		t.Fatalf("charge after a refused cancel: %+v, want succeeded", got)
	}
	if f := e.setFaults(map[string]any{}); f.RefuseCancel {
		t.Fatalf("{} left refuse_cancel set: %+v", f)
	}
	if got := e.canceled("pay_rf_after_reset"); got.Status != StatusCanceled {
		t.Fatalf("cancel after reset: %+v, want canceled", got)
	}
}

// Cancels live in the store: after a restart a canceled transfer is still
// canceled and never completes, and a tombstone still refuses its reference.
func TestRestartKeepsCancels(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "banksim.db")
	cfg := Config{DBPath: dbPath, Logger: testLogger()}
	// A first server that never runs its worker: nothing completes before
	// the restart.
	first, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := first.SetFaults(Faults{ProcessingMS: 50}); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	ts := newHTTP(t, first.Handler())
	e := &testEnv{t: t, srv: first, http: ts, dbPath: dbPath}
	e.transfer("/v1/charges", charge("pay_rs_proc", TokenProcessing, 300))
	if got := e.canceled("pay_rs_proc"); got.Status != StatusCanceled {
		t.Fatalf("cancel: %+v", got)
	}
	tomb := e.canceled("pay_rs_ghost")
	// Due after the canceled one: its completion proves the completer ran.
	e.transfer("/v1/charges", charge("pay_rs_witness", TokenProcessing, 20))
	ts.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	e = newEnv(t, cfg)
	eventually(t, "the witness to complete after the restart", func() bool {
		_, got, _ := e.get("pay_rs_witness")
		return got.Status == StatusSucceeded
	})
	if _, got, _ := e.get("pay_rs_proc"); got.Status != StatusCanceled {
		t.Fatalf("canceled transfer after the restart: %+v", got)
	}
	if got := e.transfer("/v1/charges", charge("pay_rs_ghost", TokenSuccess, 300)); got.Status != StatusCanceled || got.BankID != tomb.BankID {
		t.Fatalf("charge of a tombstoned reference after the restart: %+v, want the tombstone", got)
	}
	if n := e.executions("pay_rs_ghost"); n != 0 {
		t.Fatalf("tombstone executions = %d, want 0", n)
	}
	if b := e.balance("CNY"); b != openingFloat+20 {
		t.Fatalf("balance = %d, want only the witness's movement", b-openingFloat)
	}
}

// A cancel racing the completion of the same transfer: each ends canceled
// with no movement, no statement line and a canceled callback, or succeeded
// with exactly one of each, and the cancel's answer is that end. Both sides
// are the functions the handler and the completer call, started together:
// through HTTP the round trip lets the completion win nearly every time, and
// the race would seldom be run from the cancel's side.
func TestCancelRacingCompletion(t *testing.T) {
	const n = 60 // amounts are 1<<i, so the balance names the set that moved
	rc := newReceiver(t)
	e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL})
	e.setFaults(map[string]any{"processing_ms": time.Hour.Milliseconds()})
	answers := make([]Transfer, n)
	cancelErrs, completeErrs := make([]error, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ref := fmt.Sprintf("pay_race_%d", i)
		e.transfer("/v1/charges", charge(ref, TokenProcessing, 1<<i))
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			completeErrs[i] = e.srv.complete(context.Background(), ref)
		}()
		go func() {
			defer wg.Done()
			<-start
			res, err := e.srv.cancel(context.Background(), ref)
			answers[i], cancelErrs[i] = res.transfer, err
		}()
		close(start)
	}
	wg.Wait()

	var moved int64
	canceled := 0
	for i := range n {
		ref := fmt.Sprintf("pay_race_%d", i)
		if cancelErrs[i] != nil || completeErrs[i] != nil {
			t.Fatalf("%s: cancel: %v, complete: %v", ref, cancelErrs[i], completeErrs[i])
		}
		_, got, _ := e.get(ref)
		if got.Status != answers[i].Status || got.BankID != answers[i].BankID {
			t.Fatalf("%s: cancel answered %s, the bank now says %s", ref, answers[i].Status, got.Status)
		}
		lines := e.statementLines(*got.CompletedAt, ref)
		evs := e.callbackEvents(ref)
		switch got.Status {
		case StatusCanceled:
			canceled++
			if lines != 0 || len(evs) != 1 || evs[0].Status != StatusCanceled {
				t.Fatalf("%s canceled with %d statement lines and callbacks %+v", ref, lines, evs)
			}
		case StatusSucceeded:
			moved += 1 << i
			if lines != 1 || len(evs) != 1 || evs[0].Status != StatusSucceeded {
				t.Fatalf("%s succeeded with %d statement lines and callbacks %+v", ref, lines, evs)
			}
		default:
			t.Fatalf("%s ended %s", ref, got.Status)
		}
		if c := e.executions(ref); c != 1 {
			t.Fatalf("%s executions = %d, want 1", ref, c)
		}
	}
	if got := e.balance("CNY") - openingFloat; got != moved {
		t.Fatalf("balance moved %b, want exactly the succeeded ones %b", got, moved)
	}
	t.Logf("%d canceled, %d succeeded", canceled, bits.OnesCount64(uint64(moved)))
}
