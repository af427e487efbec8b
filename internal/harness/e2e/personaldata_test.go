package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/workflows"
)

// testRedisURL is the Redis of the suite: PAYFLOW_TEST_REDIS_URL (what make test and
// .ci/run export), else the local one.
func testRedisURL() string {
	if u := os.Getenv("PAYFLOW_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// stackRedisURL is the test Redis's database db (the URL's path replaced): each stack
// has its own, so that a stack's cache and a flush of it are its own.
func stackRedisURL(db int) string {
	u, err := url.Parse(testRedisURL())
	if err != nil {
		// The stack then fails to start with PAYFLOW_REDIS_URL's own error.
		return testRedisURL()
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}

// stackRedis is a client of the stack's cache database.
func stackRedis(s *Stack) (*redis.Client, error) {
	opts, err := redis.ParseURL(s.Opts.Env["PAYFLOW_REDIS_URL"])
	if err != nil {
		return nil, fmt.Errorf("the %s stack's PAYFLOW_REDIS_URL: %w", s.Opts.Name, err)
	}
	return redis.NewClient(opts), nil
}

// identityWrote holds the tables (verifications, bound_cards, credit_reports) the
// identity tests that ran wrote to with the test identities: the personal data check
// then also checks that it looked where their rows, logs and flows are.
var identityWrote sync.Map

// testPersonalData are the simulator's test identities' elements, which the identity
// tests send: none may be at rest in clear anywhere of ours. A name is searched
// whole (its mask, 张*, keeps only the first character).
var testPersonalData = []string{
	"6222021000000000017", "6222021000000000025", "6222021000000000033", "6222021000000000041", "6228480000000000059",
	"110105199003070017", "310115198512240024", "440304199208150038", "11010519900307005X",
	"13800138000", "13900139000", "13700137000",
	"张三", "李四", "王五", "赵六",
}

// personalSpellings are the forms a leaked element could take: the secrets' forms,
// and a JSON \u escape of a name.
func personalSpellings(v string) []string {
	out := spellings(v)
	var esc strings.Builder
	for _, r := range v {
		if r < 0x80 {
			return out
		}
		fmt.Fprintf(&esc, `\u%04x`, r)
	}
	return append(out, esc.String())
}

// findPersonalData names the test elements found in text.
func findPersonalData(text string) []string {
	var found []string
	for i, v := range testPersonalData {
		for _, sp := range personalSpellings(v) {
			if strings.Contains(text, sp) {
				// The element's index, not the element: a failure message is a log too.
				found = append(found, fmt.Sprintf("test element #%d (as %q...)", i, sp[:min(4, len(sp))]))
				break
			}
		}
	}
	return found
}

// checkNoPersonalDataAtRest searches every table of the stacks' databases (not the
// bank simulator's: its cardholder directory is the bank's), the processes' log and
// every workflow history of the run (raw bytes: payloads are sealed by the codec, so
// an element in clear is a field the codec never saw, such as a search attribute or
// a failure's message) for the test identities' elements. When the identity tests
// ran, it also checks that it looked where their objects are.
func checkNoPersonalDataAtRest(ctx context.Context, stacks []*Stack, logPath string) error {
	var errs []error
	logs, err := os.ReadFile(logPath)
	if err != nil {
		return fmt.Errorf("personal data check: read the process logs: %w", err)
	}
	for _, f := range findPersonalData(string(logs)) {
		errs = append(errs, fmt.Errorf("personal data check: %s is in the process logs", f))
	}
	wrote := func(table string) bool { _, ok := identityWrote.Load(table); return ok }
	used := wrote("verifications") || wrote("bound_cards") || wrote("credit_reports")
	if wrote("verifications") && !strings.Contains(string(logs), "bank verified") {
		errs = append(errs, errors.New("personal data check: the process logs hold no verification's line: the check does not look where the workers log"))
	}
	var dumps strings.Builder
	for _, s := range stacks {
		db, err := store.Open(s.DSN, 2)
		if err != nil {
			errs = append(errs, fmt.Errorf("personal data check: open %s database: %w", s.Opts.Name, err))
			continue
		}
		dump, err := testenv.DumpTables(ctx, db)
		db.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("personal data check: dump %s database: %w", s.Opts.Name, err))
			continue
		}
		dumps.WriteString(dump)
	}
	all := dumps.String()
	for _, f := range findPersonalData(all) {
		errs = append(errs, fmt.Errorf("personal data check: %s is in a database", f))
	}
	for _, table := range []string{"verifications", "bound_cards", "credit_reports"} {
		if wrote(table) && !strings.Contains(all, table+"\tid=") {
			errs = append(errs, fmt.Errorf("personal data check: no row of %s in any database: the check looks in the wrong place", table))
		}
	}
	seen := map[string]bool{}
	var namespaces []string
	for _, s := range stacks {
		ns := s.Opts.Namespace
		if ns == "" {
			ns = "default"
		}
		if !seen[ns] {
			seen[ns] = true
			namespaces = append(namespaces, ns)
		}
	}
	identityFlows := 0
	for _, ns := range namespaces {
		n, err := checkHistories(ctx, ns, &errs)
		if err != nil {
			errs = append(errs, fmt.Errorf("personal data check: histories of %s: %w", ns, err))
		}
		identityFlows += n
	}
	if used && identityFlows == 0 {
		errs = append(errs, errors.New("personal data check: no identity flow in any namespace's histories: the check looks in the wrong place"))
	}
	return errors.Join(errs...)
}

// checkHistories scans every workflow history of the namespace (eight at a time),
// adding what it finds to errs, and answers how many identity flows it read.
func checkHistories(ctx context.Context, namespace string, errs *[]error) (int, error) {
	// No codec: the bytes as the server keeps them.
	c, err := client.Dial(temporalx.ClientConfig{Address: temporal.Addr, Namespace: namespace}.Options())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	type run struct{ id, runID, typ string }
	var runs []run
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{NextPageToken: token})
		if err != nil {
			return 0, err
		}
		for _, e := range resp.Executions {
			runs = append(runs, run{e.Execution.WorkflowId, e.Execution.RunId, e.Type.GetName()})
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	var mu sync.Mutex
	identity := 0
	work := make(chan run)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				h, err := history(ctx, c, r.id, r.runID)
				var found []string
				if err == nil {
					var b []byte
					if b, err = proto.Marshal(h); err == nil {
						found = findPersonalData(string(b))
					}
				}
				mu.Lock()
				switch r.typ {
				case workflows.WorkflowVerification, workflows.WorkflowCardBinding, workflows.WorkflowCreditReport:
					identity++
				}
				if err != nil {
					*errs = append(*errs, fmt.Errorf("personal data check: history of %s: %w", r.id, err))
				}
				for _, f := range found {
					*errs = append(*errs, fmt.Errorf("personal data check: %s is in the history of %s (%s)", f, r.id, r.typ))
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range runs {
		work <- r
	}
	close(work)
	wg.Wait()
	return identity, nil
}
