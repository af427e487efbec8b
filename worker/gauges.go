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
// payflow_reconciliation_differences_open): a few visibility counts and one query a
// minute, never one per scrape. Every worker exports the same counts; read them with
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
	// Differences counts the unresolved differences by channel (the Store).
	Differences interface {
		OpenDifferences(ctx context.Context) (map[string]int64, error)
	}
}

// GaugeSink receives the counts (package metrics).
type GaugeSink interface {
	FlowsInStage(stage string, n int64)
	ReconciliationDifferencesOpen(byChannel map[string]int64)
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
	open, err := src.Differences.OpenDifferences(ctx)
	if err != nil {
		failed(err, "count open reconciliation differences")
		return
	}
	sink.ReconciliationDifferencesOpen(open)
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
