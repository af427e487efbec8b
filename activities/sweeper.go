package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Defaults of the flow sweep.
const (
	// DefaultSweepGrace is how old an object must be before a sweep makes sure of its
	// flow, when the input names no grace.
	DefaultSweepGrace = time.Minute
	// DefaultSweepPageSize objects are read, started and marked at a time.
	DefaultSweepPageSize = 200
	// DefaultSweepLimit bounds the objects of one kind a sweep takes; the next sweep
	// goes on from the mark, so that one sweep after a long outage stays short.
	DefaultSweepLimit = 20_000
	// DefaultSweepParallel starts run at once.
	DefaultSweepParallel = 8
)

// FlowStarter starts the flow of a stored object (package starter). Each call is
// idempotent: a flow that runs or ran under the object's workflow id is found, never
// started twice; an error means the flow may not exist.
type FlowStarter interface {
	StartPayment(ctx context.Context, in models.PaymentInput) error
	StartRefund(ctx context.Context, in models.RefundInput) error
	StartTopup(ctx context.Context, in models.TopupInput) error
	StartWithdrawal(ctx context.Context, in models.WithdrawalInput) error
	StartFundOrder(ctx context.Context, in models.FundOrderInput) error
}

// Sweeper holds the activity that starts the flows of objects stored without one.
type Sweeper struct {
	Store   *store.Store
	Starter FlowStarter
	Log     *logrus.Entry
	// PageSize, Limit and Parallel: see the defaults (0 is the default).
	PageSize int
	Limit    int
	Parallel int
	// HeartbeatEvery is how often the sweep heartbeats its progress (0: 2 s).
	HeartbeatEvery time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// FundPoll is a swept fund order's wait for the fund company's callback
	// (PAYFLOW_FUND_POLL; 0: a minute).
	FundPoll time.Duration
}

// SweepFlows makes sure that every payment, refund, top-up, withdrawal and fund order
// (subscription, redemption) has its flow.
//
// The API commits an object, then starts its flow; a request that dies in between
// (the process crashed, Temporal refused the start and the client never retried)
// leaves the object processing, with no flow to finish it, and a refund's amount
// reserved on its payment. For each kind of object, SweepFlows reads the objects
// still processing created after the kind's mark (the last object an earlier sweep
// took, kept in the database) and more than in.Grace ago, and starts each one's flow
// as the API would have: the same workflow id and input (models' FlowInput, the
// starter's StartX). A start is idempotent, so the flow of an object that has one
// (its request did start it, and it is still running) is only found, never started
// again.
//
// Cost: each object is read and started at most once over all sweeps (then the mark
// is past it), and only if it is still processing when its grace has passed: finished
// objects, nearly all of them at that age, are never read (the (status, created_at,
// id) indexes), and Temporal is not asked about them.
//
// Failure: a page's mark is recorded only after every start of the page succeeded;
// a failed start (Temporal down) stops the kind's sweep there and fails the activity,
// so the mark stays before the object and the retry, or the next sweep, takes it
// again. Kinds are independent: one failing does not hold back the others.
//
// The window ends Grace before the worker's clock; an object whose transaction
// committed later than Grace after its creation time was taken would be missed, so
// Grace must exceed the API's longest create transaction and the clock skew between
// API and worker hosts (both seconds at most; the default is a minute).
func (s *Sweeper) SweepFlows(ctx context.Context, in models.SweepFlowsInput) (models.SweepFlowsResult, error) {
	log := logger(ctx, s.Log)
	grace := in.Grace
	if grace <= 0 {
		grace = DefaultSweepGrace
	}
	p := &sweepProgress{res: models.SweepFlowsResult{Until: clock(s.Now).Add(-grace).UTC()}}
	if activity.IsActivity(ctx) {
		stop := p.heartbeat(ctx, positive(s.HeartbeatEvery, 2*time.Second))
		defer stop()
	}
	var errs []error
	for i, k := range s.kinds() {
		p.begin(k.flow)
		if err := s.sweepFlow(ctx, k, p, i); err != nil {
			p.update(i, func(sk *models.SweptKind) { sk.Error = err.Error() })
			errs = append(errs, err)
		}
	}
	res := p.snapshot()
	for _, k := range res.Kinds {
		if k.Started > 0 {
			log.WithFields(logrus.Fields{
				"flow": k.Flow, "started": k.Started, "mark_id": k.MarkID, "done": k.Done, "until": res.Until,
			}).Info("swept objects still processing past their grace")
		}
	}
	if err := errors.Join(errs...); err != nil {
		// Logged where it is handled: the SDK logs the failed attempt, and the retry
		// (or the next sweep) goes on from the marks.
		return res, retryableError(models.ErrTypeSweepIncomplete, err)
	}
	return res, nil
}

// sweepFlow sweeps one kind from its mark to the window's end, or to the limit.
func (s *Sweeper) sweepFlow(ctx context.Context, k sweepKind, p *sweepProgress, i int) error {
	mark, err := s.Store.SweepMark(ctx, k.flow)
	if err != nil {
		return err
	}
	p.update(i, func(sk *models.SweptKind) { sk.MarkCreatedAt, sk.MarkID = mark.CreatedAt, mark.ID })
	until := p.snapshot().Until
	pageSize, limit := positive(s.PageSize, DefaultSweepPageSize), positive(s.Limit, DefaultSweepLimit)
	for taken := 0; taken < limit; {
		n := min(pageSize, limit-taken)
		page, err := k.page(ctx, store.SweepPage{After: mark, Before: until, Limit: n})
		if err != nil {
			return err
		}
		if err := s.startAll(ctx, page, func() { p.update(i, func(sk *models.SweptKind) { sk.Started++ }) }); err != nil {
			return err
		}
		if len(page) > 0 {
			mark = page[len(page)-1].mark
			if err := s.Store.AdvanceSweepMark(ctx, k.flow, mark); err != nil {
				return err
			}
			p.update(i, func(sk *models.SweptKind) { sk.MarkCreatedAt, sk.MarkID = mark.CreatedAt, mark.ID })
		}
		taken += len(page)
		if len(page) < n {
			p.update(i, func(sk *models.SweptKind) { sk.Done = true })
			return nil
		}
	}
	return nil
}

// startAll starts the flows of a page, Parallel at a time, and returns the first
// errors; once one start failed, no further start of the page begins (Temporal is
// likely down, and the page is taken again anyway).
func (s *Sweeper) startAll(ctx context.Context, page []sweptObject, started func()) error {
	sem := make(chan struct{}, positive(s.Parallel, DefaultSweepParallel))
	errs := make([]error, len(page))
	var failed atomic.Bool
	var wg sync.WaitGroup
	for i, o := range page {
		sem <- struct{}{}
		// Checked once a slot is free: the start that failed may have been the one
		// that held it.
		if failed.Load() || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := o.start(ctx); err != nil {
				errs[i] = fmt.Errorf("start the flow of %s: %w", o.id, err)
				failed.Store(true)
				return
			}
			started()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// sweptObject is one object a sweep takes: its place in the mark's order, and the
// start of its flow.
type sweptObject struct {
	id    string
	mark  store.SweepMark
	start func(ctx context.Context) error
}

// sweepKind is one kind of object: how to read its next page.
type sweepKind struct {
	flow models.Flow
	page func(ctx context.Context, p store.SweepPage) ([]sweptObject, error)
}

// kinds are the kinds of object a sweep takes, in a fixed order.
func (s *Sweeper) kinds() []sweepKind {
	return []sweepKind{
		{models.FlowPayment, sweepOf(s.Store.PaymentsToSweep, func(o models.Payment) (string, time.Time) { return o.ID, o.CreatedAt },
			func(ctx context.Context, o models.Payment) error {
				in := o.FlowInput()
				if o.Source.Type == models.SourceBoundCard {
					a, err := s.agreement(ctx, o.MerchantID, "", o.Source.CardID)
					if err != nil {
						return err
					}
					in.Source.Token = a
				}
				return s.Starter.StartPayment(ctx, in)
			})},
		{models.FlowRefund, sweepOf(s.Store.RefundsToSweep, func(o models.Refund) (string, time.Time) { return o.ID, o.CreatedAt },
			func(ctx context.Context, o models.Refund) error {
				// The refund goes back through its payment's channel and source, read
				// now as the API reads them on a retried request.
				pay, err := s.Store.PaymentByID(ctx, o.PaymentID)
				if err != nil {
					return err
				}
				return s.Starter.StartRefund(ctx, o.FlowInput(pay))
			})},
		{models.FlowTopup, sweepOf(s.Store.TopupsToSweep, func(o models.Topup) (string, time.Time) { return o.ID, o.CreatedAt },
			func(ctx context.Context, o models.Topup) error {
				in := o.FlowInput()
				if o.Source.Type == models.SourceBoundCard {
					a, err := s.agreement(ctx, o.MerchantID, o.AccountID, o.Source.CardID)
					if err != nil {
						return err
					}
					in.Token = a
				}
				return s.Starter.StartTopup(ctx, in)
			})},
		{models.FlowWithdrawal, sweepOf(s.Store.WithdrawalsToSweep, func(o models.Withdrawal) (string, time.Time) { return o.ID, o.CreatedAt },
			func(ctx context.Context, o models.Withdrawal) error {
				// The merchant's review threshold, read now as the API reads it on a
				// retried request.
				m, err := s.Store.Merchant(ctx, o.MerchantID)
				if err != nil {
					return err
				}
				in := o.FlowInput(m.ReviewThreshold)
				if o.Destination.BoundCard != "" {
					if in.BankAccount, err = s.agreement(ctx, o.MerchantID, o.AccountID, o.Destination.BoundCard); err != nil {
						return err
					}
				}
				return s.Starter.StartWithdrawal(ctx, in)
			})},
		s.fundKind(models.FundSubscription),
		s.fundKind(models.FundRedemption),
	}
}

// fundKind sweeps the fund orders of a kind: the order's flow holds the money or
// shares and places it, as the API would have started it.
func (s *Sweeper) fundKind(kind models.FundOrderKind) sweepKind {
	read := func(ctx context.Context, p store.SweepPage) ([]models.FundOrderInput, error) {
		return s.Store.FundOrdersToSweep(ctx, kind, p)
	}
	return sweepKind{kind.Flow(), sweepOf(read, func(o models.FundOrderInput) (string, time.Time) { return o.OrderID, o.CreatedAt },
		func(ctx context.Context, in models.FundOrderInput) error {
			in.Poll = s.FundPoll
			if in.Poll <= 0 {
				in.Poll = time.Minute
			}
			return s.Starter.StartFundOrder(ctx, in)
		})}
}

// agreement is the bank agreement of a bound card a swept flow moves money with, as
// the API read it; for a card no longer active, an agreement no bank knows, which the
// bank refuses (a removed card stops at once for new flows).
func (s *Sweeper) agreement(ctx context.Context, merchantID, accountID, cardID string) (string, error) {
	a, err := s.Store.CardAgreement(ctx, merchantID, accountID, cardID)
	if errors.Is(err, store.ErrNotFound) {
		return noAgreement, nil
	}
	return a, err
}

// noAgreement stands for a bound card that is no longer active.
const noAgreement = "agr_none"

// sweepOf is the page of one kind of object: read reads a page of the objects, key
// tells one's id and creation time (its place in the mark's order), and start starts
// its flow.
func sweepOf[T any](read func(context.Context, store.SweepPage) ([]T, error), key func(T) (string, time.Time),
	start func(context.Context, T) error) func(context.Context, store.SweepPage) ([]sweptObject, error) {
	return func(ctx context.Context, p store.SweepPage) ([]sweptObject, error) {
		objs, err := read(ctx, p)
		if err != nil {
			return nil, err
		}
		out := make([]sweptObject, len(objs))
		for i, o := range objs {
			id, created := key(o)
			out[i] = sweptObject{id: id, mark: store.SweepMark{CreatedAt: created, ID: id}, start: func(ctx context.Context) error { return start(ctx, o) }}
		}
		return out, nil
	}
}

// sweepProgress is the sweep's result so far, heartbeated on its own goroutine so
// that a slow page (Temporal answering slowly) never makes the activity look dead,
// and so that Temporal Web shows how far a sweep got.
type sweepProgress struct {
	mu  sync.Mutex
	res models.SweepFlowsResult
}

func (p *sweepProgress) begin(flow models.Flow) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.res.Kinds = append(p.res.Kinds, models.SweptKind{Flow: flow})
}

func (p *sweepProgress) update(i int, fn func(*models.SweptKind)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(&p.res.Kinds[i])
}

func (p *sweepProgress) snapshot() models.SweepFlowsResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	res := p.res
	res.Kinds = append([]models.SweptKind(nil), p.res.Kinds...)
	return res
}

func (p *sweepProgress) heartbeat(ctx context.Context, every time.Duration) (stop func()) {
	return heartbeatEvery(ctx, every, func() any { return p.snapshot() })
}

// positive is v, or def when v is not positive.
func positive[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
