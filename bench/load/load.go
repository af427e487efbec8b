// Package load is what payflow's load generators share (make bench and the cluster
// benchmark internal/harness/cluster/clusterbench): a closed loop of concurrent clients that
// runs an operation for a while and reports completions per second with latency
// percentiles, and the end-to-end card payment as one operation.
package load

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	temporal "go.temporal.io/sdk/client"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

// Result is what one measurement found.
type Result struct {
	// Done is how many operations succeeded; Errors how many failed (not counted
	// in PerSecond or the percentiles).
	Done   int
	Errors int
	// FirstError is the first failure's message, to say why when Errors > 0.
	FirstError string
	Elapsed    time.Duration
	PerSecond  float64
	P50, P99   time.Duration
	lat        []time.Duration
}

// Merge combines measurements of one operation taken at different times (rounds
// interleaved with other measurements, so that a shared machine's changing load
// weighs on each alike): completions over the summed elapsed time, percentiles over
// every latency.
func Merge(rs ...Result) Result {
	var m Result
	for _, r := range rs {
		m.Done += r.Done
		m.Errors += r.Errors
		m.Elapsed += r.Elapsed
		m.lat = append(m.lat, r.lat...)
		if m.FirstError == "" {
			m.FirstError = r.FirstError
		}
	}
	if m.Elapsed > 0 {
		m.PerSecond = float64(m.Done) / m.Elapsed.Seconds()
	}
	m.P50, m.P99 = Percentile(m.lat, 50), Percentile(m.lat, 99)
	return m
}

// OpTimeout bounds one operation: a payment that takes longer counts as an error.
const OpTimeout = time.Minute

// Measure runs op from conc goroutines, each starting the next as soon as the last
// ended (a closed loop), until d has passed, and waits for the operations in flight.
// PerSecond is the completions over the whole elapsed time, so that a slow tail is
// not hidden.
func Measure(d time.Duration, conc int, op func(context.Context) error) Result {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				ctx, cancel := context.WithTimeout(context.Background(), OpTimeout)
				t0 := time.Now()
				err := op(ctx)
				cancel()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				el := time.Since(t0)
				mu.Lock()
				lat = append(lat, el)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{Done: len(lat), Errors: int(errs.Load()), Elapsed: elapsed, PerSecond: float64(len(lat)) / elapsed.Seconds()}
	if s, ok := firstErr.Load().(string); ok {
		r.FirstError = s
	}
	r.P50, r.P99 = Percentile(lat, 50), Percentile(lat, 99)
	r.lat = lat
	return r
}

// Percentile is the p-th percentile (nearest rank) of the durations; it sorts them.
func Percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := (len(d)*p+99)/100 - 1
	if i < 0 {
		i = 0
	}
	return d[i]
}

// CardPayment creates a card payment of amount CNY with tok_success through the API
// (a signed POST with a fresh idempotency key), waits for its workflow to close
// through Temporal (a long poll, so that the latency measured is not a polling
// interval's), and then reads the payment through the API: anything but
// `succeeded` is an error.
func CardPayment(ctx context.Context, c *client.Client, tc temporal.Client, amount int64) error {
	return pay(ctx, c, tc, amount, map[string]any{"type": "card", "token": "tok_success"})
}

// CodePayment is CardPayment with a payment code the simulator's alipaysim pays at
// once (a fresh code each time: a code pays once): the point of sale's scan, end
// to end through the wallet provider's channel.
func CodePayment(ctx context.Context, c *client.Client, tc temporal.Client, amount int64) error {
	code := fmt.Sprintf("28%015d0", rand.Int64N(1e15))
	return pay(ctx, c, tc, amount, map[string]any{"type": "payment_code", "code": code})
}

func pay(ctx context.Context, c *client.Client, tc temporal.Client, amount int64, source map[string]any) error {
	resp, err := c.Post(ctx, "/v1/payments", map[string]any{
		"amount": amount, "currency": "CNY", "source": source,
	}, "bench-"+models.NewID(""))
	if err != nil {
		return err
	}
	if resp.Status != http.StatusAccepted {
		return fmt.Errorf("POST /v1/payments: HTTP %d: %s", resp.Status, resp.Body)
	}
	var p struct {
		ID         string `json:"id"`
		WorkflowID string `json:"workflow_id"`
	}
	if err := resp.JSON(&p); err != nil {
		return err
	}
	if err := tc.GetWorkflow(ctx, p.WorkflowID, "").Get(ctx, nil); err != nil {
		return fmt.Errorf("payment %s: %w", p.ID, err)
	}
	got, err := c.Get(ctx, "/v1/payments/"+p.ID)
	if err != nil {
		return err
	}
	var o client.Object
	if err := got.JSON(&o); err != nil {
		return fmt.Errorf("GET /v1/payments/%s: HTTP %d: %w", p.ID, got.Status, err)
	}
	if o.Status != "succeeded" {
		return fmt.Errorf("payment %s ended %s (%s)", p.ID, o.Status, o.FailureCode)
	}
	return nil
}

// LoadAverage is the first three fields of /proc/loadavg: the machines are shared, so
// wall-clock figures move with it, and every report says what it was.
func LoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
