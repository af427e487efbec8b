package banksim

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (e *testEnv) statement(file string) (int, [][]string) {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/sim/statements/"+file, nil)
	if code != http.StatusOK {
		return code, nil
	}
	records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		e.t.Fatalf("parse %s: %v\n%s", file, err, raw)
	}
	if len(records) == 0 || strings.Join(records[0], ",") != "reference,kind,amount,currency,status,time" {
		e.t.Fatalf("%s header: %v", file, records)
	}
	return code, records[1:]
}

func TestStatement(t *testing.T) {
	clock := &fakeClock{}
	day := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock.Set(day)
	e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })
	at := func(sec int) { clock.Set(day.Add(time.Duration(sec) * time.Second)) }

	at(0)
	e.transfer("/v1/charges", charge("pay_s1", TokenSuccess, 1000))
	at(1)
	e.transfer("/v1/charges", charge("pay_s2", TokenDecline, 200))
	at(2)
	e.transfer("/v1/payouts", payout("wd_s1", AccountSuccess, 300))
	at(3)
	e.transfer("/v1/refunds", refund("re_s1", "pay_s1", 100))
	at(4)
	e.transfer("/v1/charges", charge("pay_s3", TokenSuccess, 500))
	e.do(http.MethodPost, "/v1/charges", charge("pay_refused", TokenFlaky, 1)) // 503: not executed
	// Processing: on the statement only once complete, at its completion time.
	// pay_pending completes after every date the test's clock reaches, so that the
	// completion worker never finds it due (it did once the clock jumped a day).
	e.setFaults(map[string]any{"processing_ms": (72 * time.Hour).Milliseconds()})
	e.transfer("/v1/charges", charge("pay_pending", TokenProcessing, 5))
	e.setFaults(map[string]any{"processing_ms": 0})
	e.transfer("/v1/charges", charge("pay_sp", TokenProcessing, 50))
	eventually(t, "pay_sp to complete", func() bool {
		_, got, _ := e.get("pay_sp")
		return got.Status == StatusSucceeded
	})
	at(5)
	// Injected after pay_sp completed, so listed after it: execution order,
	// not sorted by reference.
	code, raw := e.do(http.MethodPost, "/sim/statement/inject", `{"date":"2026-11-25","reference":"pay_ghost","kind":"charge",
		"amount":12.5,"currency":"cny","status":"succeeded"}`)
	if code != http.StatusOK || decodeAs[injectResponse](t, raw).Inserted != 1 {
		t.Fatalf("inject: %d %s", code, raw)
	}
	clock.Set(time.Date(2026, 11, 26, 0, 0, 1, 0, time.UTC))
	e.transfer("/v1/charges", charge("pay_next", TokenSuccess, 70))

	alters := []struct {
		body     string
		wantCode int
	}{
		{`{"reference":"pay_s1","amount":999}`, http.StatusOK},
		{`{"reference":"pay_s2","status":"succeeded"}`, http.StatusOK},
		{`{"reference":"pay_s3","remove":true}`, http.StatusOK},
		{`{"reference":"re_s1","status":"failed"}`, http.StatusOK},
		{`{"reference":"re_s1","amount":90}`, http.StatusOK}, // keeps the status set before
		{`{"reference":"pay_pending","amount":1}`, http.StatusOK},
		{`{"reference":"pay_ghost","amount":1}`, http.StatusNotFound}, // injected, never executed
		{`{"reference":"pay_unknown","status":"failed"}`, http.StatusNotFound},
		{`{"reference":"pay_s1"}`, http.StatusBadRequest},
		{`{"amount":1}`, http.StatusBadRequest},
		{`{"reference":"pay_s1","amount":"1"}`, http.StatusBadRequest},
	}
	for _, a := range alters {
		if code, raw := e.do(http.MethodPost, "/sim/statement/alter", a.body); code != a.wantCode {
			t.Fatalf("alter %s: %d %s, want %d", a.body, code, raw, a.wantCode)
		}
	}

	_, lines := e.statement("banksim-2026-11-25.csv")
	want := [][]string{
		{"pay_s1", "charge", "999", "CNY", "succeeded", "2026-11-25T10:00:00Z"},
		{"pay_s2", "charge", "200", "CNY", "succeeded", "2026-11-25T10:00:01Z"},
		{"wd_s1", "payout", "300", "CNY", "succeeded", "2026-11-25T10:00:02Z"},
		{"re_s1", "refund", "90", "CNY", "failed", "2026-11-25T10:00:03Z"},
		{"pay_sp", "charge", "50", "CNY", "succeeded", "2026-11-25T10:00:04Z"},
		{"pay_ghost", "charge", "12.5", "cny", "succeeded", "2026-11-25T00:00:00Z"},
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("statement of 2026-11-25:\n got %v\nwant %v", lines, want)
	}

	// Un-removing restores a line.
	e.do(http.MethodPost, "/sim/statement/alter", `{"reference":"pay_s3","remove":false}`)
	if _, lines := e.statement("banksim-2026-11-25.csv"); len(lines) != 7 || lines[4][0] != "pay_s3" {
		t.Fatalf("after un-removing pay_s3: %v", lines)
	}

	files := []struct {
		file      string
		wantCode  int
		wantLines int
	}{
		{"banksim-2026-11-26.csv", http.StatusOK, 1},
		{"banksim-2026-11-27.csv", http.StatusOK, 0},
		{"stripe-2026-11-25.csv", http.StatusNotFound, 0},
		{"banksim-2026-13-01.csv", http.StatusNotFound, 0},
		{"banksim-2026-11-25.txt", http.StatusNotFound, 0},
		{"banksim_2026-11-25.csv", http.StatusNotFound, 0},
		{"banksim.csv", http.StatusNotFound, 0},
	}
	for _, f := range files {
		code, lines := e.statement(f.file)
		if code != f.wantCode || len(lines) != f.wantLines {
			t.Errorf("%s: %d with %d lines, want %d with %d", f.file, code, len(lines), f.wantCode, f.wantLines)
		}
	}
}

func TestParseStatementFile(t *testing.T) {
	tests := []struct {
		name, channel, day string
		ok                 bool
	}{
		{"banksim-2026-11-25.csv", "banksim", "2026-11-25", true},
		{"sim-cn-2026-01-02.csv", "sim-cn", "2026-01-02", true},
		{"-2026-01-02.csv", "", "", false},
		{"banksim-2026-02-30.csv", "", "", false},
		{"banksim-20261125.csv", "", "", false},
		{".csv", "", "", false},
	}
	for _, tt := range tests {
		channel, day, ok := parseStatementFile(tt.name)
		if channel != tt.channel || day != tt.day || ok != tt.ok {
			t.Errorf("parseStatementFile(%q) = %q %q %v", tt.name, channel, day, ok)
		}
	}
}

func TestStatementChannelFromConfig(t *testing.T) {
	e := newEnv(t, Config{Channel: "sim-cn"})
	if code, _ := e.statement("sim-cn-2026-11-25.csv"); code != http.StatusOK {
		t.Fatalf("own channel: %d", code)
	}
	if code, _ := e.statement("banksim-2026-11-25.csv"); code != http.StatusNotFound {
		t.Fatalf("other channel: %d", code)
	}
}

// injectBody streams {"lines":[...]} of n lines spread over two days.
func injectBody(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		bw := &bytes.Buffer{}
		bw.WriteString(`{"lines":[`)
		for i := range n {
			if i > 0 {
				bw.WriteByte(',')
			}
			fmt.Fprintf(bw, `{"date":"2026-11-%d","reference":"pay_inj%07d","kind":"charge","amount":%d,"currency":"CNY","status":"succeeded"}`,
				25+i%2, i, i+1)
			if bw.Len() > 64<<10 {
				pw.Write(bw.Bytes())
				bw.Reset()
			}
		}
		bw.WriteString(`]}`)
		pw.Write(bw.Bytes())
		pw.Close()
	}()
	return pr
}

func TestInjectBatch(t *testing.T) {
	e := newEnv(t, Config{})
	const n = 2*injectBatchRows + 123 // full batches and a remainder
	resp, err := http.Post(e.http.URL+"/sim/statement/inject", "application/json", injectBody(n))
	if err != nil {
		t.Fatalf("inject: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || decodeAs[injectResponse](t, raw).Inserted != n {
		t.Fatalf("inject: %d %s", resp.StatusCode, raw)
	}
	_, lines := e.statement("banksim-2026-11-25.csv")
	if len(lines) != (n+1)/2 || lines[0][0] != "pay_inj0000000" || lines[1][0] != "pay_inj0000002" || lines[1][2] != "3" {
		t.Fatalf("%d lines, first %v", len(lines), lines[:2])
	}
	if _, lines := e.statement("banksim-2026-11-26.csv"); len(lines) != n/2 {
		t.Fatalf("%d lines on the 26th, want %d", len(lines), n/2)
	}

	bad := []struct{ name, body string }{
		{"bad date in a line", `{"lines":[{"date":"2026-11-27","reference":"a"},{"date":"27/11/2026","reference":"b"}]}`},
		{"amount not a number", `{"lines":[{"date":"2026-11-27","amount":"ten"}]}`},
		{"one line and lines", `{"lines":[{"date":"2026-11-27"}],"date":"2026-11-27"}`},
		{"lines not an array", `{"lines":{}}`},
		{"not an object", `[]`},
		{"truncated", `{"lines":[{"date":"2026-11-27"}`},
		{"single without date", `{"reference":"pay_x"}`},
		{"trailing data", `{"date":"2026-11-27"} {}`},
	}
	for _, b := range bad {
		if code, raw := e.do(http.MethodPost, "/sim/statement/inject", b.body); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", b.name, code, raw)
		}
	}
	// All or nothing: the valid first line of a rejected batch is not planted.
	if _, lines := e.statement("banksim-2026-11-27.csv"); len(lines) != 0 {
		t.Fatalf("rejected batches planted %v", lines)
	}
}

// BenchmarkStatementMillion plants a million lines in one request and
// streams them back (go test -run - -bench StatementMillion -benchtime 1x).
func BenchmarkStatementMillion(b *testing.B) {
	const n = 1_000_000
	for range b.N {
		b.StopTimer()
		e := newEnv(b, Config{})
		b.StartTimer()
		start := time.Now()
		resp, err := http.Post(e.http.URL+"/sim/statement/inject", "application/json", injectBody(n))
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("inject: %v %v", err, resp)
		}
		resp.Body.Close()
		injected := time.Since(start)
		start = time.Now()
		resp, err = http.Get(e.http.URL + "/sim/statements/banksim-2026-11-25.csv")
		if err != nil {
			b.Fatalf("statement: %v", err)
		}
		lines := 0
		r := csv.NewReader(resp.Body)
		r.ReuseRecord = true
		for {
			if _, err := r.Read(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatalf("read: %v", err)
			}
			lines++
		}
		resp.Body.Close()
		if lines != n/2+1 {
			b.Fatalf("%d lines", lines)
		}
		b.ReportMetric(injected.Seconds(), "inject-s")
		b.ReportMetric(time.Since(start).Seconds(), "stream-s")
		e.http.Close()
		e.srv.Close()
	}
}
