package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/payflow/payflow/api"
	"github.com/payflow/payflow/internal/harness/contract"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/testenv"
)

// stacks are the payflow stacks every end-to-end test runs against: one on MariaDB,
// one on SQLite, sharing one Temporal dev server (each on its own task queue).
var (
	stacks      []*Stack
	temporal    *Temporal
	logFile     *os.File
	apiContract *contract.Validator
	// payflowBin and stripeMockBin start the stacks a test needs of its own, in a
	// directory under workDir (which outlives the tests).
	payflowBin, stripeMockBin, workDir string
	// extraStacks are those stacks (stopped by their tests; their SQLite databases
	// stay for the secret check).
	extraStacks struct {
		sync.Mutex
		list []*Stack
	}
	// binDir holds the temporal CLI the tests run.
	binDir string
)

// stackNamespace is the Temporal namespace of a backend's stack.
func stackNamespace(b testenv.Backend) string { return "payflow-" + string(b) }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	root, err := devstack.RepoRoot(must(os.Getwd()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = os.Getenv("PAYFLOW_TEST_BIN_DIR")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	work, err := os.MkdirTemp("", "payflow-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(work)
	// Process logs go to a file, printed when a test fails.
	logFile, err = os.Create(filepath.Join(work, "processes.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var out io.Writer = logFile
	if os.Getenv("PAYFLOW_E2E_VERBOSE") != "" {
		out = io.MultiWriter(logFile, os.Stderr)
	}
	// Every exchange of the suite with the API is checked against its OpenAPI
	// description; the suite fails if one did not validate.
	apiContract, err = contract.NewValidator(api.OpenAPI)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin, err := Build(root, work, true)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	payflowBin, stripeMockBin, workDir = bin, filepath.Join(binDir, "stripe-mock"), work
	var namespaces []string
	for _, b := range testenv.Backends {
		namespaces = append(namespaces, stackNamespace(b), sweeperNamespace(b))
	}
	temporal, err = StartTemporal(ctx, binDir, "", out, namespaces...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer temporal.Proc.Stop(10 * time.Second)
	for i, b := range testenv.Backends {
		dir := filepath.Join(work, string(b))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		s, err := StartStack(ctx, StackOptions{
			Name: string(b), Bin: bin, Temporal: temporal.Addr, Backend: b, WorkDir: dir, Out: out,
			StripeMockBin: filepath.Join(binDir, "stripe-mock"),
			Validator:     apiContract,
			Namespace:     stackNamespace(b),
			Env: map[string]string{
				// Short bank timings, so that waiting flows finish in seconds.
				"PAYFLOW_BANK_POLL":    "60s",
				"PAYFLOW_BANK_TIMEOUT": "3s",
				// Long enough for a test to approve, short enough to watch one expire.
				"PAYFLOW_APPROVAL_TIMEOUT": "10s",
				// A customer's confirmation is waited for 8 s instead of 30.
				"PAYFLOW_CODE_CONFIRM_TIMEOUT": "8s",
				// Reconciliation checkpoints (and heartbeats them) four times a
				// second, and matches at most 20000 references a second, so that
				// the kill test sees a pass's progress before it ends, on any machine.
				"PAYFLOW_RECON_HEARTBEAT":      "250ms",
				"PAYFLOW_RECON_MAX_REFS_PER_S": "20000",
				// The verification cache in the test Redis, a database per stack, so
				// that one stack's tests never see the other's answers (and a flush
				// of one leaves the other's alone).
				"PAYFLOW_REDIS_URL": stackRedisURL(i + 1),
				// A credit report asks the bureau 2 s after its request (then 4 s,
				// ...) when no callback came first.
				"PAYFLOW_BUREAU_POLL": "2s",
			},
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: start %s stack: %v\n", b, err)
			dumpLogs()
			return 1
		}
		defer s.Stop()
		stacks = append(stacks, s)
	}
	code := m.Run()
	// After the whole suite's traffic, the ledger's invariants hold on every stack.
	for _, s := range stacks {
		if err := checkLedger(ctx, s); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %s stack: %v\n", s.Opts.Name, err)
			code = 1
		}
	}
	// No merchant secret is in clear in any process's log or in any table.
	extraStacks.Lock()
	checked := append(append([]*Stack{}, stacks...), extraStacks.list...)
	extraStacks.Unlock()
	if err := checkNoSecretsAtRest(ctx, checked, logFile.Name()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		code = 1
	}
	// No test identity's element is in clear in any table of the stacks' databases
	// (the bank simulator's are the bank's), in any process's log or in any
	// workflow history of the run.
	piiStart := time.Now()
	if err := checkNoPersonalDataAtRest(ctx, checked, logFile.Name()); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		code = 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "personal data check: %s\n", time.Since(piiStart).Round(time.Millisecond))
	}
	// Every request and response of the suite agreed with the OpenAPI description.
	fmt.Fprintln(os.Stderr, apiContract.Report())
	if len(apiContract.Failures()) > 0 {
		code = 1
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "OpenAPI operations no exchange reached: %v\n", apiContract.Unexercised())
	}
	if code != 0 {
		dumpLogs()
	}
	if dir := os.Getenv("PAYFLOW_RECORD_HISTORIES"); dir != "" && code == 0 {
		for _, s := range stacks {
			if s.Opts.Backend == testenv.SQLite {
				if err := recordHistories(ctx, temporal.Addr, s.Opts.Namespace, s.TaskQueue, dir, os.Getenv("PAYFLOW_RECORD_PREFIX")); err != nil {
					fmt.Fprintln(os.Stderr, "record histories:", err)
					return 1
				}
			}
		}
	}
	return code
}

func dumpLogs() {
	if logFile == nil {
		return
	}
	b, err := os.ReadFile(logFile.Name())
	if err != nil {
		return
	}
	const max = 400 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	fmt.Fprintf(os.Stderr, "\n==== process logs (last %d bytes) ====\n%s\n", len(b), b)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// eachStack runs fn as a parallel subtest per stack.
func eachStack(t *testing.T, fn func(t *testing.T, s *Stack)) {
	for _, s := range stacks {
		s := s
		t.Run(s.Opts.Name, func(t *testing.T) {
			fn(t, s)
		})
	}
}

func checkLedger(ctx context.Context, s *Stack) error {
	r, err := s.Ops(ctx, "GET", "/v1/ops/ledger/check", "")
	if err != nil {
		return err
	}
	var rep struct {
		OK bool `json:"ok"`
	}
	if r.Status != 200 || json.Unmarshal(r.Body, &rep) != nil || !rep.OK {
		return fmt.Errorf("ledger check after the suite: HTTP %d %s", r.Status, r.Body)
	}
	return nil
}
