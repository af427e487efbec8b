package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/failpoint"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// The services below (one file per flow family: payments.go, refunds.go, wallets.go,
// events.go, reconciliations.go, merchants.go) are the application between the API
// and the rest: a service owns an object's id, the transaction that stores it with its
// Idempotency-Key, the start of its flow and the answer. The merchant and ops APIs,
// the flow sweeper and the tests call them; the HTTP handlers only decode, authorize
// and map the errors below to problems.

// Errors the services answer with, beside the stores' own.
var (
	// ErrNotFound: no such object, or another merchant's.
	ErrNotFound = store.ErrNotFound
	// ErrIdempotencyKeyReused: the key came with a different request before.
	ErrIdempotencyKeyReused = store.ErrIdempotencyKeyReused
	// ErrDuplicate: the object exists already (a second resolution of a difference).
	ErrDuplicate = store.ErrDuplicate
	// ErrConcurrentRotation: another rotation of the merchant's secret won the race.
	ErrConcurrentRotation = store.ErrConcurrentRotation
	// ErrMerchantDisabled: a disabled merchant cannot move money.
	ErrMerchantDisabled = errors.New("merchant disabled")
	// ErrInvalidSource: a payment's account source is not one of the merchant's
	// wallets in the payment's currency.
	ErrInvalidSource = errors.New("invalid source account")
	// ErrInvalidAccount: a top-up's or withdrawal's account is not one of the
	// merchant's wallets.
	ErrInvalidAccount = errors.New("invalid account")
	// ErrUnknownCursor: a list's starting_after names nothing of the list.
	ErrUnknownCursor = errors.New("starting_after names nothing of this list")
)

// WalletCurrencyError refuses a top-up or withdrawal in another currency than its
// wallet's.
type WalletCurrencyError struct{ Wallet ledger.Account }

func (e *WalletCurrencyError) Error() string {
	return fmt.Sprintf("the wallet holds %s", e.Wallet.Currency)
}

// NotStartedError reports an object stored whose flow could not start yet: the
// client's retry with the same Idempotency-Key (or the flow sweeper) starts it.
type NotStartedError struct {
	Kind       string
	ObjectID   string
	MerchantID string
	Err        error
}

func (e *NotStartedError) Error() string {
	return fmt.Sprintf("start %s flow of %s: %v", e.Kind, e.ObjectID, e.Err)
}

func (e *NotStartedError) Unwrap() error { return e.Err }

// Deps are what every service needs.
type Deps struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	Log    *logrus.Entry
	// Now is the clock of the objects' timestamps (time.Now when nil).
	Now func() time.Time
	// Started counts the flows of the objects created (nil counts nothing).
	Started FlowCounter
}

// FlowCounter counts the flows whose object was created (payflow_flows_started_total;
// package metrics).
type FlowCounter interface {
	FlowStarted(flow, channel string)
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Idempotent is what every creating request carries besides its fields.
type Idempotent struct {
	MerchantID string
	// Key is the request's Idempotency-Key; Fingerprint identifies the request, so
	// that the key reused with another request is refused.
	Key         string
	Fingerprint string
	// Wait is how long the caller waits for the object's flow to end before it is
	// answered (Prefer: wait=N); 0 answers as soon as the flow has started.
	Wait time.Duration
}

// Created is the answer to a creating request.
type Created[T any] struct {
	Object T
	// Replayed: an earlier request with the same key created the object.
	Replayed bool
	// Final: the flow ended within the request's wait, and Object is its outcome.
	Final bool
}

// Awaiter waits for a flow to close (Starter.AwaitFlow).
type Awaiter interface {
	// AwaitFlow reports true once the flow has closed, false when ctx ended first.
	AwaitFlow(ctx context.Context, workflowID string) (bool, error)
}

// moneyKind is how one kind of money object is stored, read back and judged.
type moneyKind[T any] struct {
	// name names the object in logs and errors ("payment", "top-up").
	name string
	// flow and channel label the object's count of started flows.
	flow    models.Flow
	channel func(obj T) string
	// workflowID is the workflow id of a merchant's object's flow (workflows/ids.go).
	workflowID func(merchantID, objectID string) string
	// insert stores a new object inside the idempotency transaction.
	insert func(tx *gorm.DB, obj T) error
	// load reads the object a replayed key names (and the outcome after a wait).
	load func(st *store.Store, ctx context.Context, merchantID, id string) (T, error)
	// final says whether the object has its outcome.
	final func(obj T) bool
}

// The kinds of money objects the services create.
var (
	paymentKind = moneyKind[models.Payment]{
		name: "payment", flow: models.FlowPayment, channel: func(p models.Payment) string { return p.Channel }, workflowID: workflows.PaymentWorkflowID, insert: store.InsertPayment, load: (*store.Store).Payment,
		final: func(p models.Payment) bool { return p.Status != models.PaymentProcessing },
	}
	topupKind = moneyKind[models.Topup]{
		name: "top-up", flow: models.FlowTopup, channel: func(t models.Topup) string { return t.Channel }, workflowID: workflows.TopupWorkflowID, insert: store.InsertTopup, load: (*store.Store).Topup,
		final: func(t models.Topup) bool { return t.Status != models.TopupProcessing },
	}
	withdrawalKind = moneyKind[models.Withdrawal]{
		name: "withdrawal", flow: models.FlowWithdrawal, channel: func(w models.Withdrawal) string { return w.Channel }, workflowID: workflows.WithdrawalWorkflowID, insert: store.InsertWithdrawal, load: (*store.Store).Withdrawal,
		final: func(w models.Withdrawal) bool { return w.Status != models.WithdrawalProcessing },
	}
	refundKind = moneyKind[models.Refund]{
		name: "refund", flow: models.FlowRefund, channel: func(r models.Refund) string { return r.Channel }, workflowID: workflows.RefundWorkflowID, insert: store.InsertRefund, load: (*store.Store).Refund,
		final: func(r models.Refund) bool { return r.Status != models.RefundProcessing },
	}
)

// createAndStart stores obj, a new object of kind k, under the request's Idempotency-Key (a
// replay gets the first object), then starts its flow with start on every request
// with the key, so that a first request that stored the object but lost Temporal is
// completed by the client's retry (or by the flow sweeper, when no retry comes). With
// a wait, it then waits up to that long for the flow to end and answers its outcome.
func createAndStart[T any](ctx context.Context, d Deps, flows Awaiter, req Idempotent, k moneyKind[T], objID string, obj T,
	start func(ctx context.Context, obj T) error) (Created[T], error) {
	id, created, err := d.Store.CreateOnce(ctx, store.IdempotentRequest{
		MerchantID: req.MerchantID, Key: req.Key, Fingerprint: req.Fingerprint, ObjectID: objID,
	}, func(tx *gorm.DB) error { return k.insert(tx, obj) })
	if err != nil {
		return Created[T]{}, err
	}
	out := Created[T]{Object: obj, Replayed: !created}
	if created && d.Started != nil {
		// Counted once per object: its flow starts below, or at the client's retry
		// or the flow sweeper's pass if Temporal refuses it now.
		d.Started.FlowStarted(string(k.flow), k.channel(obj))
	}
	if !created {
		if out.Object, err = k.load(d.Store, ctx, req.MerchantID, id); err != nil {
			return Created[T]{}, fmt.Errorf("load idempotent %s %s: %w", k.name, id, err)
		}
	}
	// The object is committed and its flow not started: a crash here leaves it without
	// a flow until the client retries or, past PAYFLOW_SWEEP_GRACE, the flow-sweeper
	// schedule starts it (activities.Sweeper). Test builds (-tags failpoints) can end
	// the process here; other builds compile this to nothing.
	failpoint.Hit(failpoint.AfterCommitBeforeStart)
	if err := start(ctx, out.Object); err != nil {
		return Created[T]{}, &NotStartedError{Kind: k.name, ObjectID: id, MerchantID: req.MerchantID, Err: err}
	}
	if req.Wait <= 0 || flows == nil {
		return out, nil
	}
	if k.final(out.Object) {
		out.Final = true
		return out, nil
	}
	out.Final = awaitOutcome(ctx, d, flows, req, k, id, &out.Object)
	return out, nil
}

// awaitOutcome waits up to req.Wait for the flow of the object id (of kind k) to
// close, then reloads the object into obj; it reports whether obj has its outcome. A
// failure to wait or to reload is logged and answered as "not yet": the object is
// stored and its flow runs.
func awaitOutcome[T any](ctx context.Context, d Deps, flows Awaiter, req Idempotent, k moneyKind[T], id string, obj *T) bool {
	wfID := k.workflowID(req.MerchantID, id)
	wctx, cancel := context.WithTimeout(ctx, req.Wait)
	defer cancel()
	closed, err := flows.AwaitFlow(wctx, wfID)
	if err != nil {
		d.log().WithError(err).WithField("workflow_id", wfID).Warn("wait for flow")
		return false
	}
	if !closed {
		return false
	}
	got, err := k.load(d.Store, ctx, req.MerchantID, id)
	if err != nil {
		d.log().WithError(err).WithField("object_id", id).Warn("load outcome")
		return false
	}
	if !k.final(got) {
		return false
	}
	*obj = got
	return true
}

func (d Deps) log() *logrus.Entry {
	if d.Log != nil {
		return d.Log
	}
	return logrus.NewEntry(logrus.StandardLogger())
}

// checkCursor checks a list's starting_after (ErrUnknownCursor when it names nothing of the
// merchant's) before the page is read.
func checkCursor[T any](ctx context.Context, merchantID, after string, load func(ctx context.Context, merchantID, id string) (T, error)) error {
	if after == "" {
		return nil
	}
	if _, err := load(ctx, merchantID, after); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return ErrUnknownCursor
		}
		return fmt.Errorf("check starting_after: %w", err)
	}
	return nil
}
