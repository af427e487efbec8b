package worker

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/models"
)

// GaugesEvery is how often each worker counts the flows waiting in a stage and the
// open reconciliation differences for its gauges (payflow_flows_in_stage,
// payflow_reconciliation_differences_open and _open_over_1d): a few visibility
// counts and two queries a minute, never one per scrape. Every worker exports the same counts; read them with
// max().
const GaugesEvery = time.Minute

// GaugeStages are the stages payflow_flows_in_stage counts: where flows wait on
// someone else (the bank, an operator).
var GaugeStages = []models.Stage{models.StageWaitingBank, models.StageNeedsAttention, models.StagePendingApproval}

// GaugeSources are what the gauges count.
type GaugeSources struct {
	// Flows counts the running flows in a stage (the Starter, from visibility).
	Flows interface {
		CountOpenFlows(ctx context.Context, stage models.Stage) (int64, error)
	}
	// Differences counts the unresolved differences by channel, all of them and
	// those stored before a cut-off (the Store).
	Differences interface {
		OpenDifferences(ctx context.Context) (map[string]int64, error)
		OpenDifferencesOlderThan(ctx context.Context, cutoff time.Time) (map[string]int64, error)
	}
	// Now is the clock of the cut-off; nil is time.Now.
	Now func() time.Time
}

// OpenDifferenceAge is the age past which an unresolved difference counts in
// payflow_reconciliation_differences_open_over_1d (and raises
// PayflowReconciliationDifferencesOpen): a day, the time a finance team has to work
// a run's differences before the next run.
const OpenDifferenceAge = 24 * time.Hour

// GaugeSink receives the counts (package metrics).
type GaugeSink interface {
	FlowsInStage(stage string, n int64)
	ReconciliationDifferencesOpen(byChannel map[string]int64)
	ReconciliationDifferencesOpenOver1d(byChannel map[string]int64)
}

// RefreshGauges counts once and sets the gauges. A count that fails is logged
// (unless ctx ended: the worker stops) and leaves its gauge as it was; the others
// are still set.
func RefreshGauges(ctx context.Context, src GaugeSources, sink GaugeSink, log *logrus.Entry) {
	failed := func(err error, what string) {
		if ctx.Err() == nil {
			log.WithError(err).Warn("gauge: " + what)
		}
	}
	for _, stage := range GaugeStages {
		n, err := src.Flows.CountOpenFlows(ctx, stage)
		if err != nil {
			failed(err, "count flows in "+string(stage))
			continue
		}
		sink.FlowsInStage(string(stage), n)
	}
	if open, err := src.Differences.OpenDifferences(ctx); err != nil {
		failed(err, "count open reconciliation differences")
	} else {
		sink.ReconciliationDifferencesOpen(open)
	}
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	old, err := src.Differences.OpenDifferencesOlderThan(ctx, now().Add(-OpenDifferenceAge))
	if err != nil {
		failed(err, "count open reconciliation differences older than a day")
		return
	}
	sink.ReconciliationDifferencesOpenOver1d(old)
}

// keepGauges refreshes the gauges at the worker's start and every GaugesEvery
// until it stops; a worker without metrics counts nothing.
func keepGauges(lc fx.Lifecycle, p Params) {
	if p.Metrics == nil {
		return
	}
	src := GaugeSources{Flows: p.Starter, Differences: p.Store}
	log := p.Log.WithField("component", "gauges")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	lc.Append(fx.StartStopHook(
		func() {
			wg.Go(func() {
				tick := time.NewTicker(GaugesEvery)
				defer tick.Stop()
				for {
					refreshCtx, done := context.WithTimeout(ctx, GaugesEvery/2)
					RefreshGauges(refreshCtx, src, p.Metrics, log)
					done()
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
				}
			})
		},
		func() {
			cancel()
			wg.Wait()
		},
	))
}
