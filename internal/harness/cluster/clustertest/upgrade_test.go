//go:build cluster

package clustertest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// receiver is a merchant's webhook endpoint: it records the event types it was sent
// for each object.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][]string{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		b, _ := io.ReadAll(req.Body)
		if json.Unmarshal(b, &ev) == nil {
			r.mu.Lock()
			r.got[ev.Data.ID] = append(r.got[ev.Data.ID], ev.Type)
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) events(objectID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got[objectID]...)
}

// waitPolling waits until a worker process polls payflow's task queue, as a
// deployment's readiness check would before the next replica is replaced.
func waitPolling(t *testing.T, ctx context.Context, pid int) {
	t.Helper()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		d, err := tc.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if !assert.NoError(ct, err) {
			return
		}
		polling := false
		for _, p := range d.Pollers {
			polling = polling || strings.HasPrefix(p.Identity, strconv.Itoa(pid)+"@")
		}
		assert.True(ct, polling, "worker %d is not polling yet", pid)
	}, time.Minute, 200*time.Millisecond)
}

// A rolling upgrade with flows in flight. Release 1's workers run (its payment
// workflow is the frozen internal/e2e/release1 code); 20 card payments start on them
// and wait at the bank; the workers are replaced one at a time by today's build,
// each new one polling before the next old one stops, while new payments keep
// arriving. Every payment started on release 1 finishes on today's build (its first
// workflow task was completed by a release-1 process, its last by a new one), and
// those with a notify_url take the patched path that release 1 did not have: the
// notify-webhooks version marker is recorded and the merchant gets its webhook.
func testRollingUpgrade(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	recv := newReceiver(t)

	// Release 1 is deployed: nothing is in flight after the previous test, so today's
	// workers give way to two workers of release 1.
	for _, w := range c.Payflow.Workers() {
		require.NoError(t, w.Stop(30*time.Second))
	}
	oldPids, newPids := map[int]bool{}, map[int]bool{}
	var olds []*devstack.Proc
	for i := 0; i < 2; i++ {
		p, err := c.Payflow.StartWorker(release1Bin)
		require.NoError(t, err)
		olds = append(olds, p)
		oldPids[p.Pid()] = true
		waitPolling(t, ctx, p.Pid())
	}

	// 20 payments the bank keeps processing for 30 s: started and waiting on release 1.
	require.NoError(t, setBankFaults(ctx, `{"processing_ms":30000}`))
	defer setBankFaults(context.Background(), `{}`)
	type started struct {
		object
		notify bool
	}
	var inflight []started
	for i := 0; i < 20; i++ {
		body := map[string]any{"amount": 2000 + i, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_processing"}}
		if i%2 == 0 {
			body["notify_url"] = recv.srv.URL + "/events"
		}
		r, _, err := create(ctx, "/v1/payments", body, 202)
		require.NoError(t, err)
		var p object
		require.NoError(t, r.JSON(&p))
		inflight = append(inflight, started{p, i%2 == 0})
	}
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		for _, p := range inflight {
			v, err := tc.QueryWorkflow(ctx, p.WorkflowID, "", workflows.QueryState)
			if !assert.NoError(ct, err) {
				return
			}
			var st models.FlowState
			assert.NoError(ct, v.Get(&st))
			assert.Equal(ct, models.StageWaitingBank, st.Stage, p.ID)
		}
	}, time.Minute, 300*time.Millisecond)

	// Traffic goes on during the roll.
	stop := make(chan struct{})
	trafficDone := make(chan []object)
	var sent atomic.Int64
	go func() {
		var made []object
		defer func() { trafficDone <- made }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			r, _, err := create(ctx, "/v1/payments", map[string]any{"amount": 3000 + i, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}, 202)
			if err != nil {
				t.Errorf("payment during the roll: %v", err)
				return
			}
			var p object
			if r.JSON(&p) == nil {
				made = append(made, p)
				sent.Add(1)
			}
		}
	}()

	// The roll: each release-1 worker is stopped (SIGTERM: it finishes the tasks in
	// hand) only after its replacement polls.
	rollStart := time.Now()
	for _, old := range olds {
		p, err := c.Payflow.StartWorker(payflowBin, "worker")
		require.NoError(t, err)
		newPids[p.Pid()] = true
		waitPolling(t, ctx, p.Pid())
		require.NoError(t, old.Stop(30*time.Second))
	}
	// Traffic goes on for ten more payments on today's build alone.
	afterRoll := sent.Load()
	require.Eventually(t, func() bool { return sent.Load() >= afterRoll+10 }, time.Minute, 50*time.Millisecond)
	close(stop)
	traffic := <-trafficDone
	t.Logf("rolled 2 workers from release 1 to today's build in %s; %d payments sent during and after the roll", time.Since(rollStart).Round(time.Millisecond), len(traffic))
	// The premise: the payments were still waiting when the last release-1 worker left.
	for _, p := range inflight {
		r, err := c.Payflow.Client(0).Get(ctx, "/v1/payments/"+p.ID)
		require.NoError(t, err)
		var o object
		require.NoError(t, r.JSON(&o))
		require.Equal(t, "processing", o.Status, "%s finished before the roll ended: raise processing_ms", p.ID)
	}

	for _, p := range inflight {
		got, err := waitFinal(ctx, "/v1/payments/"+p.ID, "processing")
		require.NoError(t, err)
		require.Equal(t, "succeeded", got.Status, p.ID)
		n, err := executions(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, 1, n, "%s executed %d times", p.ID, n)
		pids, err := workflowTaskPids(ctx, p.WorkflowID)
		require.NoError(t, err)
		require.NotEmpty(t, pids)
		require.True(t, oldPids[pids[0]], "%s was not started by a release-1 worker (pids %v, release 1 %v)", p.ID, pids, oldPids)
		require.True(t, newPids[pids[len(pids)-1]], "%s was not finished by today's worker (pids %v, today %v)", p.ID, pids, newPids)
		markers, err := versionMarkers(ctx, p.WorkflowID)
		require.NoError(t, err)
		if p.notify {
			require.Contains(t, markers, workflows.ChangeNotifyWebhooks, p.ID)
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				assert.Contains(ct, recv.events(p.ID), "payment.succeeded")
			}, time.Minute, 300*time.Millisecond)
		} else {
			require.False(t, slices.Contains(markers, workflows.ChangeNotifyWebhooks), "%s asked for no webhook", p.ID)
		}
	}
	for _, p := range traffic {
		got, err := waitFinal(ctx, "/v1/payments/"+p.ID, "processing")
		require.NoError(t, err)
		require.Equal(t, "succeeded", got.Status, p.ID)
		n, err := executions(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, 1, n, p.ID)
	}
	rep, err := ledgerCheck(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
}
