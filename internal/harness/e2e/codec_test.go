package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	querypb "go.temporal.io/api/query/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// secretsOf is what must never be in clear in Temporal for a flow: its amount (as a
// number on its own, not inside an id) and its card token or bank account.
type secretsOf struct {
	amount int64
	words  []string
}

func (s secretsOf) amountRe() *regexp.Regexp {
	return regexp.MustCompile(fmt.Sprintf(`(^|[^0-9A-Za-z])%d([^0-9A-Za-z]|$)`, s.amount))
}

// findIn names the first secret found in b, or "".
func (s secretsOf) findIn(b []byte) string {
	if s.amountRe().Match(b) {
		return fmt.Sprint("the amount ", s.amount)
	}
	for _, w := range s.words {
		if strings.Contains(string(b), w) {
			return w
		}
	}
	return ""
}

// withoutSearchAttributes is the history less its search attributes: those
// Temporal must read to index them, so they are in clear by design
// (PayflowAmount among them, since operators search by amount).
func withoutSearchAttributes(h *historypb.History) *historypb.History {
	h = proto.Clone(h).(*historypb.History)
	for _, ev := range h.Events {
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			a.SearchAttributes = nil
		}
		if a := ev.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			a.SearchAttributes = nil
		}
	}
	return h
}

// requireSealed checks a flow's history as Temporal stores it: every payload
// (inputs, results, activity arguments and results, local activity markers,
// signals, updates, failure details) is sealed by the codec, every failure the SDK
// wrote has its message sealed, and nothing but the search attributes holds the
// amount or the token.
func requireSealed(t *testing.T, raw client.Client, workflowID string, s secretsOf) (h *historypb.History, sdkFailures int) {
	t.Helper()
	ctx := context.Background()
	h, err := history(ctx, raw, workflowID, "")
	require.NoError(t, err)
	require.NotEmpty(t, h.Events)

	payloads := 0
	require.NoError(t, proxy.VisitPayloads(ctx, h, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				payloads++
				assert.Equal(t, temporalx.EncodingEncrypted, string(p.GetMetadata()[converter.MetadataEncoding]), "%s: a payload in clear: %s", workflowID, p)
			}
			return ps, nil
		},
	}))
	require.Positive(t, payloads)
	require.NoError(t, proxy.VisitFailures(ctx, h, proxy.VisitFailuresOptions{
		Visitor: func(_ *proxy.VisitFailuresContext, f *failurepb.Failure) error {
			if f.GetSource() == "GoSDK" {
				sdkFailures++
				assert.Equal(t, "Encoded failure", f.GetMessage(), "%s: a failure message in clear", workflowID)
				assert.Empty(t, f.GetStackTrace())
			}
			return nil
		},
	}))

	b, err := proto.Marshal(withoutSearchAttributes(h))
	require.NoError(t, err)
	require.Empty(t, s.findIn(b), "%s: in clear in Temporal's history", workflowID)
	// The scan does see clear text: the amount is in the PayflowAmount search
	// attribute.
	b, err = proto.Marshal(h)
	require.NoError(t, err)
	require.Regexp(t, s.amountRe(), string(b))
	return h, sdkFailures
}

func temporalCLI(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PAYFLOW_TEST_BIN_DIR")
	if dir == "" {
		root, err := devstack.RepoRoot(must(os.Getwd()))
		require.NoError(t, err)
		dir = filepath.Join(root, "bin")
	}
	return filepath.Join(dir, "temporal")
}

func workflowShow(t *testing.T, s *Stack, workflowID string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"workflow", "show", "--address", temporal.Addr, "--namespace", s.Opts.Namespace, "-w", workflowID, "--color", "never"}, extra...)
	out, err := exec.CommandContext(ctx, temporalCLI(t), args...).CombinedOutput()
	require.NoError(t, err, "temporal %s: %s", strings.Join(args, " "), out)
	return string(out)
}

// Temporal holds no amount, card token or bank account of any flow in clear: not in
// its history (read without the codec), not in `temporal workflow show`; the
// operator reads them through the codec endpoint with the ops token.
func TestPayloadsAreEncryptedInTemporal(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		raw, err := client.Dial(client.Options{HostPort: temporal.Addr, Namespace: s.Opts.Namespace}) // Temporal's own view: no codec
		require.NoError(t, err)
		defer raw.Close()
		// Amounts above any process id, so that an identity (pid@host) never
		// matches; the withdrawal is over the review threshold, so an operator's
		// Update approves it.
		type flow struct {
			name, workflowID string
			secrets          secretsOf
			failures         bool // its history holds failures the SDK wrote
		}
		var flows []flow

		p := createPayment(t, s, card(9753197, "tok_success"))
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, p.ID, 60*time.Second).Status)
		flows = append(flows, flow{"payment", p.WorkflowID, secretsOf{9753197, []string{"tok_success"}}, false})

		// Retried bank failures (failure messages) and a bank callback (a signal).
		for _, tok := range []string{"tok_flaky", "tok_processing"} {
			pf := createPayment(t, s, card(9753198, tok))
			require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, pf.ID, 90*time.Second).Status, tok)
			flows = append(flows, flow{"payment " + tok, pf.WorkflowID, secretsOf{9753198, []string{tok}}, tok == "tok_flaky"})
		}

		status, rf, code := refund(t, s, p.ID, 5791357)
		require.Equal(t, 202, status, code)
		require.Equal(t, models.RefundSucceeded, waitRefund(t, s, rf.ID).Status)
		flows = append(flows, flow{"refund", rf.WorkflowID, secretsOf{5791357, []string{"tok_success"}}, false})

		w := createWallet(t, s)
		top := topUp(t, s, w.ID, 8642097, "tok_success")
		require.Equal(t, models.TopupSucceeded, top.Status)
		flows = append(flows, flow{"topup", top.WorkflowID, secretsOf{8642097, []string{"tok_success"}}, false})

		wd := createWithdrawal(t, s, w.ID, 5432109, "ba_success")
		require.Equal(t, models.WithdrawalPendingApproval, waitWithdrawal(t, s, wd.ID, "processing").Status)
		st, body := opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/approve", `{"reason":"checked"}`)
		require.Equal(t, 200, st, "%v", body)
		require.Equal(t, models.WithdrawalSucceeded, waitWithdrawal(t, s, wd.ID, "processing", "pending_approval").Status)
		flows = append(flows, flow{"withdrawal", wd.WorkflowID, secretsOf{5432109, []string{"ba_success"}}, false})

		for _, f := range flows {
			t.Run(f.name, func(t *testing.T) {
				h, sdkFailures := requireSealed(t, raw, f.workflowID, f.secrets)
				if f.failures {
					require.Positive(t, sdkFailures, "the bank's 503s are in the history, sealed")
				}
				for _, mode := range [][]string{nil, {"--detailed"}, {"--output", "json"}} {
					out := workflowShow(t, s, f.workflowID, mode...)
					require.Empty(t, f.secrets.findIn([]byte(out)), "temporal workflow show %v:\n%s", mode, out)
				}
				// With the codec endpoint and the ops token, the CLI shows them.
				out := workflowShow(t, s, f.workflowID, "--detailed",
					"--codec-endpoint", s.APIURLs[0]+"/codec", "--codec-auth", "Bearer "+OpsToken)
				require.Contains(t, out, fmt.Sprintf("amount: %d", f.secrets.amount))

				// So does /codec/decode, for the input as Temporal stores it.
				input := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetInput()
				in, err := protojson.Marshal(input)
				require.NoError(t, err)
				r, err := s.Ops(context.Background(), "POST", "/codec/decode", string(in))
				require.NoError(t, err)
				require.Equal(t, 200, r.Status, "%s", r.Body)
				var decoded commonpb.Payloads
				require.NoError(t, protojson.Unmarshal(r.Body, &decoded))
				var fields struct {
					Amount int64 `json:"amount"`
				}
				require.NoError(t, converter.GetDefaultDataConverter().FromPayload(decoded.Payloads[0], &fields))
				require.Equal(t, f.secrets.amount, fields.Amount)

				// Without the token, nothing.
				resp, err := http.Post(s.APIURLs[0]+"/codec/decode", "application/json", strings.NewReader(string(in)))
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, 401, resp.StatusCode)
			})
		}

		// A query's answer leaves the worker sealed too.
		resp, err := raw.WorkflowService().QueryWorkflow(context.Background(), &workflowservice.QueryWorkflowRequest{
			Namespace: s.Opts.Namespace,
			Execution: &commonpb.WorkflowExecution{WorkflowId: p.WorkflowID},
			Query:     &querypb.WorkflowQuery{QueryType: workflows.QueryState},
		})
		require.NoError(t, err)
		require.Equal(t, temporalx.EncodingEncrypted, string(resp.GetQueryResult().GetPayloads()[0].GetMetadata()[converter.MetadataEncoding]))
	})
}

// scrapeMetrics reads a /metrics page.
func scrapeMetrics(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return string(b), err
}

// The API and every worker export payflow's series and the Temporal SDK's on
// /metrics. A payment's outcome is counted where it is recorded: in the worker
// (FinalizePayment), so payflow_payments_total is the worker's series.
func TestMetricsEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		p := createPayment(t, s, card(1050, "tok_success"))
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, p.ID, 60*time.Second).Status)

		require.EventuallyWithT(t, func(c *assert.CollectT) {
			// The workers' pages, of those alive (a fault test may have killed one).
			var pages []string
			for _, u := range s.WorkerMetricsURLs {
				if page, err := scrapeMetrics(u); err == nil {
					pages = append(pages, page)
				}
			}
			all := strings.Join(pages, "\n")
			assert.Regexp(c, `(?m)^payflow_payments_total\{channel="banksim",status="succeeded"\} [1-9]`, all)
			assert.Regexp(c, `(?m)^payflow_flows_total\{channel="banksim",flow="payment",status="succeeded"\} [1-9]`, all)
			assert.Regexp(c, `(?m)^payflow_flow_duration_seconds_count\{flow="payment",status="succeeded"\} [1-9]`, all)
			assert.Regexp(c, `(?m)^temporal_workflow_task_schedule_to_start_latency_seconds_count\{.*task_queue="`+s.TaskQueue+`".*\} [1-9]`, all)
			assert.Regexp(c, `(?m)^temporal_activity_execution_latency_seconds_count\{activity_type="Charge".*\} [1-9]`, all)
			assert.Regexp(c, `(?m)^temporal_workflow_completed\{.*workflow_type="PaymentWorkflow".*\} [1-9]`, all)
			// The ledger-check schedule runs on the workers (one check at each
			// worker's start).
			assert.Regexp(c, `(?m)^payflow_ledger_check_ok 1$`, all)
			// Each worker counts the flows waiting in a stage from visibility, and the
			// open reconciliation differences, at its start and every minute.
			assert.Regexp(c, `(?m)^payflow_flows_in_stage\{stage="waiting_bank"\} [0-9]+$`, all)
			assert.Regexp(c, `(?m)^payflow_flows_in_stage\{stage="pending_approval"\} [0-9]+$`, all)

			api, err := scrapeMetrics(s.APIURLs[0] + "/metrics")
			if !assert.NoError(c, err) {
				return
			}
			assert.Regexp(c, `(?m)^temporal_request\{.*operation="StartWorkflowExecution".*\} [1-9]`, api)
			assert.Regexp(c, `(?m)^payflow_http_requests_total\{method="POST",route="/v1/payments",status="202"\} [1-9]`, api)
			assert.Regexp(c, `(?m)^payflow_flows_started_total\{channel="banksim",flow="payment"\} [1-9]`, api)
		}, 20*time.Second, 200*time.Millisecond)
	})
}
