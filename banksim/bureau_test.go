package banksim

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func creditQuery(id, name, idNumber, callback string) map[string]any {
	return map[string]any{"request_id": id, "name": name, "id_number": idNumber, "purpose": "loan_review", "callback_url": callback}
}

func (e *testEnv) requestReport(body map[string]any) CreditAnswer {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, "/v1/credit_queries", body)
	if code != http.StatusAccepted {
		e.t.Fatalf("credit query: %d %s", code, raw)
	}
	return decodeAs[CreditAnswer](e.t, raw)
}

func (e *testEnv) report(id string) CreditAnswer {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/v1/credit_queries/"+id, nil)
	if code != http.StatusOK {
		e.t.Fatalf("get credit query: %d %s", code, raw)
	}
	return decodeAs[CreditAnswer](e.t, raw)
}

// awaitReport polls until the query is no longer processing.
func (e *testEnv) awaitReport(t *testing.T, id string) CreditAnswer {
	t.Helper()
	var got CreditAnswer
	eventually(t, "the report of "+id, func() bool {
		got = e.report(id)
		return got.Status != CreditProcessing
	})
	return got
}

func TestBureauSubjects(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"bureau_delay_ms": 20})
	tests := []struct {
		name, holder, idNumber string
		status                 string
		score, overdue         int
	}{
		{"good", "张三", SubjectGood, CreditReady, 720, 0},
		{"overdue", "李四", SubjectOverdue, CreditReady, 580, 2},
		{"no record", "赵六", SubjectNoRecord, CreditNoRecord, 0, 0},
		{"no record, lower-case x", "赵六", "11010519900307005x", CreditNoRecord, 0, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "cq_" + string(rune('a'+i))
			if got := e.requestReport(creditQuery(id, tt.holder, tt.idNumber, "")); got != (CreditAnswer{RequestID: id, Status: CreditProcessing}) {
				t.Fatalf("create: %+v", got)
			}
			got := e.awaitReport(t, id)
			if got.Status != tt.status {
				t.Fatalf("status %s, want %s", got.Status, tt.status)
			}
			if tt.status == CreditNoRecord {
				if got.Report != nil {
					t.Fatalf("no_record with a report: %+v", got.Report)
				}
				return
			}
			r := got.Report
			if r == nil || r.Score != tt.score || r.Summary.OverdueAccounts != tt.overdue || r.Summary.CreditAccounts != len(r.Accounts) {
				t.Fatalf("report %+v", r)
			}
			// A repeat answers the same query and executes nothing more.
			if again := e.requestReport(creditQuery(id, tt.holder, tt.idNumber, "")); again.Status != tt.status {
				t.Fatalf("repeat: %+v", again)
			}
			if n := e.executions(id); n != 1 {
				t.Fatalf("executions = %d", n)
			}
		})
	}
}

func TestBureauDerivesOtherReportsFromTheIDNumber(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"bureau_delay_ms": 0})
	scores := map[int]bool{}
	for _, idNumber := range []string{"110101198001010011", "110101198001010022", "440301197512120033", "510104199911110044"} {
		e.requestReport(creditQuery("cq_"+idNumber+"_1", "某人", idNumber, ""))
		e.requestReport(creditQuery("cq_"+idNumber+"_2", "某人", idNumber, ""))
		first, second := e.awaitReport(t, "cq_"+idNumber+"_1"), e.awaitReport(t, "cq_"+idNumber+"_2")
		if first.Status != CreditReady || !reflect.DeepEqual(first.Report, second.Report) {
			t.Fatalf("%s: %+v then %+v", idNumber, first, second)
		}
		r := first.Report
		if r.Score < 300 || r.Score > 850 || len(r.Accounts) == 0 || r.Summary.CreditAccounts != len(r.Accounts) {
			t.Fatalf("%s: report %+v", idNumber, r)
		}
		scores[r.Score] = true
	}
	if len(scores) < 2 {
		t.Fatalf("every id number got the same score: %v", scores)
	}
}

func TestBureauDelay(t *testing.T) {
	e := newEnv(t, Config{})
	if f := e.srv.Faults(); f.BureauDelayMS != 3000 {
		t.Fatalf("default bureau_delay_ms = %d, want 3000", f.BureauDelayMS)
	}
	const delay = 400 * time.Millisecond
	e.setFaults(map[string]any{"bureau_delay_ms": delay.Milliseconds()})
	start := time.Now()
	e.requestReport(creditQuery("cq_delay", "张三", SubjectGood, ""))
	if got := e.report("cq_delay"); got.Status != CreditProcessing || got.Report != nil {
		t.Fatalf("at once: %+v", got)
	}
	got := e.awaitReport(t, "cq_delay")
	if elapsed := time.Since(start); got.Status != CreditReady || elapsed < delay {
		t.Fatalf("%+v after %v, want ready no sooner than %v", got, elapsed, delay)
	}
	if code, _ := e.do(http.MethodGet, "/v1/credit_queries/never", nil); code != http.StatusNotFound {
		t.Fatalf("unknown query: %d, want 404", code)
	}
	if code, _ := e.do(http.MethodPost, "/v1/credit_queries", `{"request_id":"cq_bad","name":"a","id_number":"b"}`); code != http.StatusBadRequest {
		t.Fatalf("no purpose: %d, want 400", code)
	}
}

func TestBureauCallsBackSigned(t *testing.T) {
	rc := newReceiver(t, http.StatusInternalServerError) // the first delivery fails and is retried
	e := newEnv(t, Config{}, func(s *Server) { s.retryBase = 20 * time.Millisecond })
	e.setFaults(map[string]any{"bureau_delay_ms": 10})
	e.requestReport(creditQuery("cq_cb", "李四", SubjectOverdue, rc.srv.URL))
	eventually(t, "the delivered callback", func() bool { return len(rc.received()) == 2 })
	for _, cb := range rc.received() {
		if err := VerifyCallback(DefaultCallbackSecret, cb.signature, cb.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var body CreditCallback
		if err := json.Unmarshal(cb.body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != CreditCallbackType || body.RequestID != "cq_cb" || body.Status != CreditReady || body.EventID == "" {
			t.Fatalf("callback %s", cb.body)
		}
	}
	eventually(t, "delivered", func() bool {
		s := e.callbackStates("cq_cb")
		return len(s) == 1 && s[0] == cbDelivered
	})
}

func TestBureauDownLeavesChargesWorking(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"bureau_down": true, "bureau_delay_ms": 0})
	if code, raw := e.do(http.MethodPost, "/v1/credit_queries", creditQuery("cq_down", "张三", SubjectGood, "")); code != http.StatusServiceUnavailable {
		t.Fatalf("create while down: %d %s", code, raw)
	}
	if code, _ := e.do(http.MethodGet, "/v1/credit_queries/cq_down", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("get while down: %d", code)
	}
	if n := e.executions("cq_down"); n != 0 {
		t.Fatalf("a refused query executed %d times", n)
	}
	e.decide(t, "/v1/charges", charge("pay_bureau_down", TokenSuccess, 100), KindCharge, StatusSucceeded, "", 100)
	if got := e.verifyOK(verify("ver_bureau_down", CardDebit, "张三", "", "")); got.Result != VerifyMatch {
		t.Fatalf("verification while the bureau is down: %+v", got)
	}
	e.setFaults(map[string]any{"bureau_delay_ms": 0})
	e.requestReport(creditQuery("cq_down", "张三", SubjectGood, ""))
	if got := e.awaitReport(t, "cq_down"); got.Status != CreditReady {
		t.Fatalf("after the fault: %+v", got)
	}
	if n := e.executions("cq_down"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
}

func TestCreditQuerySurvivesRestart(t *testing.T) {
	rc := newReceiver(t)
	dbPath := filepath.Join(t.TempDir(), "banksim.db")
	cfg := Config{DBPath: dbPath, Logger: testLogger()}
	// A first server that never runs its worker: the report can only be
	// ready after the restart.
	first, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f := DefaultFaults()
	f.BureauDelayMS = 50
	if err := first.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	ts := newHTTP(t, first.Handler())
	e := &testEnv{t: t, srv: first, http: ts, dbPath: dbPath}
	e.requestReport(creditQuery("cq_restart", "张三", SubjectGood, rc.srv.URL))
	ts.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	e = newEnv(t, cfg)
	if got := e.awaitReport(t, "cq_restart"); got.Status != CreditReady || got.Report.Score != 720 {
		t.Fatalf("after restart: %+v", got)
	}
	eventually(t, "the callback after the restart", func() bool { return len(rc.received()) == 1 })
	if n := e.executions("cq_restart"); n != 1 {
		t.Fatalf("executions = %d", n)
	}
}
