package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/auto"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// horizon bounds a run in simulated time: every flow has ended long before, unless
// something is stuck.
const horizon = 8 * 24 * time.Hour

// sweepGrace is how long an object may wait for its flow before the sweeper starts
// it (PAYFLOW_SWEEP_GRACE).
const sweepGrace = time.Minute

// Options change what a run does, to show what each defence is for.
type Options struct {
	// NoSweeper runs without the sweeper: an object whose API request died between
	// the commit and the start keeps no flow.
	NoSweeper bool
	// Legacy runs the bank calls released before they were pinned.
	Legacy bool
}

// Report is what one run found.
type Report struct {
	Violations []string
	// Counts of what the schedule exercised.
	Flows, Crashes, Callbacks, Forged, Cancels, Executions int
}

// object is a flow's object and how to start its flow.
type object struct {
	flow       int
	kind       string
	id         string
	workflowID string
	start      func(ctx workflow.Context) workflow.ChildWorkflowFuture
}

type harness struct {
	plan     Plan
	opts     Options
	epoch    time.Time
	env      *testsuite.TestWorkflowEnvironment
	st       *store.Store
	led      *ledger.Ledger
	banks    map[string]*modelBank
	merchant string
	objects  []object
	byRef    map[string]int // bank reference -> flow
	byWF     map[string]int // workflow id -> flow
	log      *logrus.Entry

	mu         sync.Mutex
	violations []string
	crashes    atomic.Int64
	disabled   atomic.Bool
}

func (h *harness) violate(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.violations = append(h.violations, fmt.Sprintf(format, args...))
}

// hash draws a deterministic number in [0, 1000) from the seed and the parts of a
// decision, so that what happens to a flow does not depend on how the flows'
// goroutines interleave.
func (h *harness) hash(parts ...any) int {
	f := fnv.New64a()
	fmt.Fprint(f, h.plan.Seed)
	for _, p := range parts {
		fmt.Fprint(f, "|", p)
	}
	return int(f.Sum64() % 1000)
}

// Run runs one schedule and checks the invariants.
func Run(p Plan, opts Options) (Report, error) {
	dir, err := os.MkdirTemp("", "payflow-sim-")
	if err != nil {
		return Report{}, err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open("sqlite://"+filepath.Join(dir, "sim.db"), 0)
	if err != nil {
		return Report{}, err
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		return Report{}, err
	}
	box, err := secretbox.New([]byte("payflow-simulation-secrets-key32"))
	if err != nil {
		return Report{}, err
	}
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	h := &harness{plan: p, opts: opts, st: store.New(db, box), led: ledger.New(db), log: logrus.NewEntry(lg),
		banks: map[string]*modelBank{}, byRef: map[string]int{}, byWF: map[string]int{}}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h.env = suite.NewTestWorkflowEnvironment()
	// The simulation starts now: the test environment derives the deadlines of
	// activities' contexts from its clock, so a clock set in the past would expire
	// them at once.
	h.epoch = h.env.Now().UTC()
	h.env.SetTestTimeout(2 * time.Minute)
	if opts.Legacy {
		h.env.OnGetVersion("bank-call-pinned", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	}
	for _, name := range []string{simName, stripeName} {
		h.banks[name] = h.newBank(name)
	}
	if err := h.setup(); err != nil {
		return Report{}, fmt.Errorf("setup: %w", err)
	}
	h.register()
	h.schedule()
	h.env.RegisterWorkflow(h.driver)
	h.env.ExecuteWorkflow(h.driver)
	if !h.env.IsWorkflowCompleted() {
		h.violate("the simulation did not complete")
	} else if err := h.env.GetWorkflowError(); err != nil {
		h.violate("driver: %v", err)
	}
	h.check()
	rep := Report{Violations: h.violations, Flows: len(p.Flows), Crashes: int(h.crashes.Load()), Callbacks: len(p.Callbacks)}
	for _, cb := range p.Callbacks {
		if cb.Forged {
			rep.Forged++
		}
	}
	for _, f := range p.Flows {
		if f.Cancel > 0 {
			rep.Cancels++
		}
	}
	for _, b := range h.banks {
		rep.Executions += len(b.executed())
	}
	return rep, nil
}

func (h *harness) newBank(name string) *modelBank {
	b := newModelBank(name, h.env.Now)
	b.script = func(ref string) []Step {
		i, ok := h.byRef[ref]
		if !ok {
			if charge, rev := models.ReversedCharge(ref); rev {
				if i, ok := h.byRef[charge]; ok {
					return h.plan.Flows[i].Reversal
				}
			}
			return nil
		}
		return h.plan.Flows[i].Script[name]
	}
	b.cancelable = func(ref string, kind bank.Kind, processing bool) bool {
		if name == stripeName && !(kind == bank.KindPayout && processing) {
			// Stripe cancels pending payouts only, and cannot refuse a reference it
			// has not seen.
			return false
		}
		i, ok := h.byRef[ref]
		return !ok || !slices.Contains(h.plan.Flows[i].NoCancel, name)
	}
	b.outage = func(now time.Time) (string, time.Time) {
		for _, o := range h.plan.Outages {
			from := h.epoch.Add(o.From.D())
			if until := from.Add(o.For.D()); o.Channel == name && !now.Before(from) && now.Before(until) {
				return o.Mode, until
			}
		}
		return "", time.Time{}
	}
	b.lost = func(ref string, n int) bool { return h.hash("lost", h.refKey(ref), name, n) < 500 }
	b.queryFails = func(ref string, n int) bool {
		return n <= 6 && h.hash("query", h.refKey(ref), name, n) < h.plan.QueryFailPerMille
	}
	return b
}

// refKey names a bank reference by its flow, so that decisions drawn for it do not
// depend on the random ids of one run.
func (h *harness) refKey(ref string) string {
	if i, ok := h.byRef[ref]; ok {
		return fmt.Sprint("flow", i)
	}
	if charge, ok := models.ReversedCharge(ref); ok {
		if i, ok := h.byRef[charge]; ok {
			return fmt.Sprint("reversal", i)
		}
	}
	return ref
}

// setup stores the merchant, the wallets and the payments that later flows need,
// and each flow's object, as the API would have.
func (h *harness) setup() error {
	ctx := context.Background()
	h.merchant = models.NewID(models.PrefixMerchant)
	m := models.Merchant{ID: h.merchant, Name: "sim", FeeBps: 100, ReviewThreshold: reviewThreshold,
		DefaultCurrency: "CNY", Status: models.MerchantActive, CreatedAt: h.epoch}
	if err := h.st.CreateMerchant(ctx, m, "sim_secret_0123456789", "whsec_sim_0123456789"); err != nil {
		return err
	}
	if err := h.led.OpenMerchantAccounts(ctx, h.merchant, "CNY"); err != nil {
		return err
	}
	seedClearing, err := h.led.EnsureAccount(ctx, ledger.ClearingSpec("seed", "CNY"))
	if err != nil {
		return err
	}
	settlement, err := h.led.EnsureAccount(ctx, ledger.SettlementSpec(h.merchant, "CNY"))
	if err != nil {
		return err
	}
	for i, f := range h.plan.Flows {
		at := h.epoch.Add(f.Start.D())
		o := object{flow: i, kind: f.Kind}
		switch f.Kind {
		case kindPayment, kindWalletPayment:
			src := models.PaymentSource{Type: models.SourceCard, Token: "tok_sim"}
			if f.Kind == kindWalletPayment {
				wallet, err := h.wallet(seedClearing, f.Amount*2)
				if err != nil {
					return err
				}
				src = models.PaymentSource{Type: models.SourceAccount, AccountID: wallet}
			}
			p := models.Payment{ID: models.NewID(models.PrefixPayment), Object: "payment", MerchantID: h.merchant,
				Amount: f.Amount, Currency: "CNY", Source: src, Channel: f.Channel, Status: models.PaymentProcessing,
				CreatedAt: at, UpdatedAt: at}
			p.WorkflowID = workflows.PaymentWorkflowID(h.merchant, p.ID)
			if err := h.insert(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }); err != nil {
				return err
			}
			in := models.PaymentInput{PaymentID: p.ID, MerchantID: h.merchant, Amount: p.Amount, Currency: "CNY",
				Source: src, Channel: f.Channel, BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: f.Deadline.D()}}
			o.id, o.workflowID = p.ID, p.WorkflowID
			o.start = child(o.workflowID, workflows.PaymentWorkflow, in)
		case kindTopup:
			wallet, err := h.wallet(seedClearing, 0)
			if err != nil {
				return err
			}
			tp := models.Topup{ID: models.NewID(models.PrefixTopup), Object: "topup", MerchantID: h.merchant, AccountID: wallet,
				Amount: f.Amount, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_sim"},
				Channel: f.Channel, Status: models.TopupProcessing, CreatedAt: at, UpdatedAt: at}
			tp.WorkflowID = workflows.TopupWorkflowID(h.merchant, tp.ID)
			if err := h.insert(func(tx *gorm.DB) error { return store.InsertTopup(tx, tp) }); err != nil {
				return err
			}
			in := models.TopupInput{TopupID: tp.ID, MerchantID: h.merchant, AccountID: wallet, Amount: f.Amount, Currency: "CNY",
				Token: "tok_sim", Channel: f.Channel, BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: f.Deadline.D()}}
			o.id, o.workflowID = tp.ID, tp.WorkflowID
			o.start = child(o.workflowID, workflows.TopupWorkflow, in)
		case kindWithdrawal:
			wallet, err := h.wallet(seedClearing, f.Amount*2)
			if err != nil {
				return err
			}
			w := models.Withdrawal{ID: models.NewID(models.PrefixWithdrawal), Object: "withdrawal", MerchantID: h.merchant,
				AccountID: wallet, Amount: f.Amount, Currency: "CNY", Destination: models.Destination{BankAccount: "ba_sim"},
				Channel: f.Channel, Status: models.WithdrawalProcessing, CreatedAt: at, UpdatedAt: at}
			w.WorkflowID = workflows.WithdrawalWorkflowID(h.merchant, w.ID)
			if err := h.insert(func(tx *gorm.DB) error { return store.InsertWithdrawal(tx, w) }); err != nil {
				return err
			}
			in := models.WithdrawalInput{WithdrawalID: w.ID, MerchantID: h.merchant, AccountID: wallet, Amount: f.Amount,
				Currency: "CNY", BankAccount: "ba_sim", Channel: f.Channel, ReviewThreshold: reviewThreshold,
				ApprovalTimeout: approvalTimeout, BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: f.Deadline.D()}}
			o.id, o.workflowID = w.ID, w.WorkflowID
			o.start = child(o.workflowID, workflows.WithdrawalWorkflow, in)
		case kindRefund:
			// The payment it refunds: charged at the channel and booked before the
			// simulation, with money on the settlement account to give back.
			pay := models.Payment{ID: models.NewID(models.PrefixPayment), Object: "payment", MerchantID: h.merchant,
				Amount: f.Amount, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_sim"},
				Channel: f.Channel, Status: models.PaymentProcessing, CreatedAt: h.epoch, UpdatedAt: h.epoch}
			pay.WorkflowID = workflows.PaymentWorkflowID(h.merchant, pay.ID)
			if err := h.insert(func(tx *gorm.DB) error { return store.InsertPayment(tx, pay) }); err != nil {
				return err
			}
			clearing, err := h.led.EnsureAccount(ctx, ledger.ClearingSpec(f.Channel, "CNY"))
			if err != nil {
				return err
			}
			err = h.led.Run(ctx, func(tx *ledger.Tx) error {
				if _, err := tx.Post(ledger.Posting{Key: "payment/" + pay.ID + "/capture", Flow: models.FlowPayment, FlowID: pay.ID,
					MerchantID: h.merchant, Currency: "CNY",
					Legs: []ledger.Leg{{AccountID: clearing, Amount: -f.Amount}, {AccountID: settlement, Amount: f.Amount}}}); err != nil {
					return err
				}
				return tx.SetPaymentOutcome(pay.ID, store.PaymentOutcome{Status: models.PaymentSucceeded, Channel: f.Channel})
			})
			if err != nil {
				return err
			}
			h.banks[f.Channel].seed(pay.ID, bank.KindCharge, f.Amount, "CNY")
			rf := models.Refund{ID: models.NewID(models.PrefixRefund), Object: "refund", MerchantID: h.merchant, PaymentID: pay.ID,
				Amount: f.Amount, Currency: "CNY", Channel: f.Channel, Status: models.RefundProcessing, CreatedAt: at, UpdatedAt: at}
			rf.WorkflowID = workflows.RefundWorkflowID(h.merchant, rf.ID)
			if err := h.insert(func(tx *gorm.DB) error { return store.InsertRefund(tx, rf) }); err != nil {
				return err
			}
			in := models.RefundInput{RefundID: rf.ID, PaymentID: pay.ID, MerchantID: h.merchant, Amount: f.Amount, Currency: "CNY",
				Channel: f.Channel, Source: pay.Source, BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: f.Deadline.D()}}
			o.id, o.workflowID = rf.ID, rf.WorkflowID
			o.start = child(o.workflowID, workflows.RefundWorkflow, in)
		}
		h.byRef[o.id] = i
		h.byWF[o.workflowID] = i
		h.objects = append(h.objects, o)
	}
	return nil
}

func (h *harness) insert(fn func(tx *gorm.DB) error) error {
	return h.st.DB().Transaction(fn)
}

// wallet opens a customer wallet funded from outside the simulated banks.
func (h *harness) wallet(seedClearing string, balance int64) (string, error) {
	id := models.NewID(models.PrefixAccount)
	if err := h.insert(func(tx *gorm.DB) error { return ledger.InsertWallet(tx, ledger.NewWallet(id, h.merchant, "CNY", "")) }); err != nil {
		return "", err
	}
	if balance == 0 {
		return id, nil
	}
	return id, h.led.Run(context.Background(), func(tx *ledger.Tx) error {
		_, err := tx.Post(ledger.Posting{Key: "seed/" + id, Flow: models.FlowTopup, FlowID: id, MerchantID: h.merchant, Currency: "CNY",
			Legs: []ledger.Leg{{AccountID: seedClearing, Amount: -balance}, {AccountID: id, Amount: balance}}})
		return err
	})
}

func child[I any, O any](id string, wf func(workflow.Context, I) (O, error), in I) func(ctx workflow.Context) workflow.ChildWorkflowFuture {
	return func(ctx workflow.Context) workflow.ChildWorkflowFuture {
		ctx = workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id})
		return workflow.ExecuteChildWorkflow(ctx, wf, in)
	}
}

// driver starts the flows as the API would (each at its time, unless the API died
// first), runs the sweeper every minute, and waits for every flow to end.
func (h *harness) driver(ctx workflow.Context) error {
	started := map[int]bool{}
	var futures []workflow.ChildWorkflowFuture
	var names []string
	start := func(o object) {
		started[o.flow] = true
		futures = append(futures, o.start(ctx))
		names = append(names, o.workflowID)
	}
	order := make([]object, len(h.objects))
	copy(order, h.objects)
	sort.SliceStable(order, func(i, j int) bool { return h.plan.Flows[order[i].flow].Start < h.plan.Flows[order[j].flow].Start })
	begin := workflow.Now(ctx)
	next := 0
	for len(started) < len(h.objects) && workflow.Now(ctx).Sub(begin) < horizon {
		for next < len(order) && h.plan.Flows[order[next].flow].Start.D() <= workflow.Now(ctx).Sub(begin) {
			if o := order[next]; !h.plan.Flows[o.flow].Unstarted {
				start(o)
			}
			next++
		}
		if !h.opts.NoSweeper {
			var due []int
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
			if err := workflow.ExecuteLocalActivity(lctx, h.sweep, workflow.Now(ctx)).Get(ctx, &due); err != nil {
				return err
			}
			for _, i := range due {
				if !started[i] {
					start(h.objects[i])
				}
			}
		}
		if err := workflow.Sleep(ctx, time.Minute); err != nil {
			return err
		}
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			h.violate("flow %s ended in error: %v", names[i], err)
		}
	}
	return nil
}

// sweep runs the real sweep activity (payflow's sweeper, with the simulation's clock)
// and answers the flows it asked to start; the driver starts those not running yet
// (a start is idempotent in Temporal: a flow already started is only found).
func (h *harness) sweep(ctx context.Context, now time.Time) ([]int, error) {
	st := &sweepStarter{h: h}
	sw := &activities.Sweeper{Store: h.st, Starter: st, Log: h.log, Now: func() time.Time { return now }}
	if _, err := sw.SweepFlows(ctx, models.SweepFlowsInput{Grace: sweepGrace}); err != nil {
		return nil, err
	}
	sort.Ints(st.due)
	return st.due, nil
}

// sweepStarter is the sweeper's FlowStarter in the simulation: it names the flows
// to start.
type sweepStarter struct {
	h   *harness
	mu  sync.Mutex
	due []int
}

func (s *sweepStarter) add(id string) error {
	i, ok := s.h.byRef[id]
	if !ok {
		return fmt.Errorf("the sweeper started %s, which the simulation never stored", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.due = append(s.due, i)
	return nil
}

func (s *sweepStarter) StartPayment(_ context.Context, in models.PaymentInput) error {
	return s.add(in.PaymentID)
}

func (s *sweepStarter) StartRefund(_ context.Context, in models.RefundInput) error {
	return s.add(in.RefundID)
}

func (s *sweepStarter) StartTopup(_ context.Context, in models.TopupInput) error {
	return s.add(in.TopupID)
}

func (s *sweepStarter) StartWithdrawal(_ context.Context, in models.WithdrawalInput) error {
	return s.add(in.WithdrawalID)
}

func (s *sweepStarter) StartFundOrder(_ context.Context, in models.FundOrderInput) error {
	return s.add(in.OrderID)
}

// status is an object's status and creation time, as stored.
func (h *harness) status(ctx context.Context, o object) (string, time.Time, error) {
	switch o.kind {
	case kindPayment, kindWalletPayment:
		p, err := h.st.Payment(ctx, h.merchant, o.id)
		return string(p.Status), p.CreatedAt, err
	case kindTopup:
		t, err := h.st.Topup(ctx, h.merchant, o.id)
		return string(t.Status), t.CreatedAt, err
	case kindWithdrawal:
		w, err := h.st.Withdrawal(ctx, h.merchant, o.id)
		return string(w.Status), w.CreatedAt, err
	default:
		r, err := h.st.Refund(ctx, h.merchant, o.id)
		return string(r.Status), r.CreatedAt, err
	}
}

func final(status string) bool {
	return status != "processing" && status != string(models.WithdrawalPendingApproval)
}

// register registers the real workflows and the real activities, each wrapped so
// that an attempt may crash after its effect committed.
func (h *harness) register() {
	chans := []bank.Channel{h.banks[simName], h.banks[stripeName]}
	le := h.log
	reg := bank.NewRegistry(chans...)
	routes, _ := auto.ParseRoutes(`[{"channels":["banksim","stripe"]}]`)
	router, _ := auto.New(routes, reg.Get)
	reg.Add(router)
	b := &activities.Bank{Channels: reg, Store: h.st, Log: le}
	pay := &activities.Payments{Store: h.st, Ledger: h.led, Log: le}
	top := &activities.Topups{Store: h.st, Ledger: h.led, Log: le}
	holds := &activities.Holds{Store: h.st, Ledger: h.led, Log: le}
	wd := &activities.Withdrawals{Store: h.st, Ledger: h.led, Log: le}
	ref := &activities.Refunds{Store: h.st, Ledger: h.led, Log: le}
	for _, wf := range []any{workflows.PaymentWorkflow, workflows.TopupWorkflow, workflows.WithdrawalWorkflow, workflows.RefundWorkflow} {
		h.env.RegisterWorkflow(wf)
	}
	act := func(name string, fn any) {
		h.env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	act("Charge", crashing(h, "Charge", b.Charge))
	act("Payout", crashing(h, "Payout", b.Payout))
	act("RefundAtBank", crashing(h, "RefundAtBank", b.RefundAtBank))
	act("QueryTransfer", crashing(h, "QueryTransfer", b.QueryTransfer))
	act("CancelTransfer", crashing(h, "CancelTransfer", b.CancelTransfer))
	act("RouteTransfer", b.RouteTransfer)
	act("FinalizePayment", crashing(h, "FinalizePayment", watch(h, pay.FinalizePayment, models.PaymentSucceeded,
		"payment %s recorded %s while %s may still move the money",
		func(in models.FinalizePaymentInput) (string, models.PaymentStatus) { return in.PaymentID, in.Status })))
	act("FinalizeTopup", crashing(h, "FinalizeTopup", watch(h, top.FinalizeTopup, models.TopupSucceeded,
		"top-up %s recorded %s while %s may still move the money",
		func(in models.FinalizeTopupInput) (string, models.TopupStatus) { return in.TopupID, in.Status })))
	act("PlaceHold", crashing(h, "PlaceHold", holds.PlaceHold))
	act("SetWithdrawalStatus", func(ctx context.Context, in models.SetWithdrawalStatusInput) error {
		return wd.SetWithdrawalStatus(ctx, in)
	})
	act("FinalizeWithdrawal", crashing(h, "FinalizeWithdrawal", watch(h, wd.FinalizeWithdrawal, models.WithdrawalSucceeded,
		"withdrawal %s released its hold (%s) while %s may still pay out",
		func(in models.FinalizeWithdrawalInput) (string, models.WithdrawalStatus) {
			return in.WithdrawalID, in.Status
		})))
	act("FinalizeRefund", crashing(h, "FinalizeRefund", watch(h, ref.FinalizeRefund, models.RefundSucceeded,
		"refund %s freed its reservation (%s) while %s may still refund",
		func(in models.FinalizeRefundInput) (string, models.RefundStatus) { return in.RefundID, in.Status })))
}

// crashing wraps an activity: after its effect committed, an attempt may crash
// (the worker dies before the server hears of it), so that the retry runs it again.
func crashing[I any, O any](h *harness, name string, fn func(context.Context, I) (O, error)) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		out, err := fn(ctx, in)
		info := activity.GetInfo(ctx)
		flow := h.byWF[info.WorkflowExecution.ID]
		if err == nil && info.Attempt <= 3 && h.hash("crash", flow, name, info.Attempt) < h.plan.CrashPerMille {
			h.crashes.Add(1)
			if name == "FinalizePayment" && h.plan.DisableOnCrash {
				h.disable()
			}
			var zero O
			return zero, errors.New("simulated crash: the worker died after the effect committed")
		}
		return out, err
	}
}

func (h *harness) disable() {
	if h.disabled.CompareAndSwap(false, true) {
		if err := h.st.SetMerchantStatus(context.Background(), h.merchant, models.MerchantDisabled); err != nil {
			h.violate("disable merchant: %v", err)
		}
	}
}

// mayStillMove names a bank that may still move money for the flow whose reference
// is ref (its transfer or its reversal), or "".
func (h *harness) mayStillMove(ref string) string {
	for _, r := range []string{ref, models.ReversalReference(ref), ref + ".reversal"} {
		for _, name := range []string{simName, stripeName} {
			if h.banks[name].mayStillMove(r) {
				return name + " " + r
			}
		}
	}
	return ""
}

// watch wraps a finalize activity: when the outcome it records gives money back
// (a hold released, a reservation freed, a charge marked failed: any status but
// succeeded), no bank may still move the money. final is the flow's id and the
// status in records; format reports a violation of the id, the status and the
// bank that may still move the money.
func watch[I, O any, S comparable](h *harness, fn func(context.Context, I) (O, error), succeeded S, format string, final func(in I) (string, S)) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		if id, status := final(in); status != succeeded {
			if at := h.mayStillMove(id); at != "" {
				h.violate(format, id, status, at)
			}
		}
		return fn(ctx, in)
	}
}

// schedule registers the acts of the plan at their times: operators' cancels,
// retries and decisions, the merchant's disable, and the callbacks.
func (h *harness) schedule() {
	for i, f := range h.plan.Flows {
		wf := h.objects[i].workflowID
		at := f.Start.D()
		if f.Cancel > 0 {
			h.env.RegisterDelayedCallback(func() {
				_ = h.env.UpdateWorkflowByID(wf, workflows.UpdateCancel, fmt.Sprintf("cancel-%d", i), noop{}, models.Decision{Operator: "sim", Reason: "simulated"})
			}, at+f.Cancel.D())
		}
		if f.Retry > 0 {
			h.env.RegisterDelayedCallback(func() {
				_ = h.env.UpdateWorkflowByID(wf, workflows.UpdateRetry, fmt.Sprintf("retry-%d", i), noop{}, models.Decision{Operator: "sim"})
			}, at+f.Retry.D())
		}
		if f.Decision != "" {
			name := workflows.UpdateApprove
			if f.Decision == "reject" {
				name = workflows.UpdateReject
			}
			h.env.RegisterDelayedCallback(func() {
				_ = h.env.UpdateWorkflowByID(wf, name, fmt.Sprintf("decide-%d", i), noop{}, models.Decision{Operator: "sim", Reason: "simulated"})
			}, at+f.DecideAt.D())
		}
	}
	if h.plan.DisableAt > 0 {
		h.env.RegisterDelayedCallback(h.disable, h.plan.DisableAt.D())
	}
	for _, cb := range h.plan.Callbacks {
		o := h.objects[cb.Flow]
		h.env.RegisterDelayedCallback(func() {
			msg := models.BankCallback{Reference: o.id, Channel: cb.Channel, Status: models.BankStatus(cb.Status), EventID: "sim"}
			if !cb.Forged {
				for _, name := range []string{simName, stripeName} {
					if st, ok := h.banks[name].state(o.id); ok {
						msg.Channel, msg.Status = name, st
					}
				}
				if msg.Status == "" {
					return // the bank has nothing to tell
				}
			}
			_ = h.env.SignalWorkflowByID(o.workflowID, workflows.SignalBankCallback, msg)
		}, cb.At.D())
	}
}

type noop struct{}

func (noop) Accept()             {}
func (noop) Reject(error)        {}
func (noop) Complete(any, error) {}

// check verifies the invariants after the run.
func (h *harness) check() {
	ctx := context.Background()
	// Each reference executed at most once across all channels.
	seen := map[string][]string{}
	for _, name := range []string{simName, stripeName} {
		for _, e := range h.banks[name].executed() {
			seen[e.Reference] = append(seen[e.Reference], name)
		}
		for ref, n := range h.banks[name].executions {
			if n > 1 {
				h.violate("%s executed %s %d times", name, ref, n)
			}
		}
	}
	for ref, at := range seen {
		if len(at) > 1 {
			h.violate("reference %s executed at %s", ref, strings.Join(at, " and "))
		}
	}
	// Money moved at each bank equals money booked to its clearing account.
	for _, name := range []string{simName, stripeName} {
		var moved int64
		for _, e := range h.banks[name].executed() {
			if e.Status != models.BankSucceeded {
				continue
			}
			if e.Kind == bank.KindCharge {
				moved += e.Amount
			} else {
				moved -= e.Amount
			}
		}
		booked, err := h.clearing(ctx, name)
		if err != nil {
			h.violate("read clearing of %s: %v", name, err)
			continue
		}
		if moved+booked != 0 {
			h.violate("%s moved %d CNY net, the ledger booked %d to its clearing account", name, moved, -booked)
		}
	}
	if booked, err := h.clearing(ctx, autoName); err == nil && booked != 0 {
		h.violate("the ledger booked %d to the router's clearing account", -booked)
	}
	// Every object ended, and no bank may still move its money.
	for _, o := range h.objects {
		status, _, err := h.status(ctx, o)
		if err != nil {
			h.violate("read %s: %v", o.id, err)
			continue
		}
		if !final(status) {
			h.violate("%s %s is still %s: no flow ended it", o.kind, o.id, status)
		}
		if at := h.mayStillMove(o.id); at != "" {
			h.violate("%s %s ended %s while %s may still move the money", o.kind, o.id, status, at)
		}
	}
	rep, err := h.led.Check(ctx)
	if err != nil {
		h.violate("ledger check: %v", err)
	} else if !rep.OK {
		h.violate("ledger check not ok: %+v", rep)
	}
}

// clearing is the sum of the entries of a channel's CNY clearing account (0 when it
// has none).
func (h *harness) clearing(ctx context.Context, channel string) (int64, error) {
	a, err := h.led.AccountBySpec(ctx, ledger.ClearingSpec(channel, "CNY"))
	if errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var sum int64
	err = h.st.DB().WithContext(ctx).Raw(`SELECT COALESCE(SUM(amount), 0) FROM entries WHERE account_id = ?`, a.ID).Scan(&sum).Error
	return sum, err
}
