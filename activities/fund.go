package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// FundCompany is the fund company's order API, by payflow's order id (its
// idempotency key: asked again, it answers the same order). ErrFundUnavailable
// wraps every failure that may be retried (no answer, a timeout, a 5xx): never proof
// that an order was or was not taken.
type FundCompany interface {
	PlaceOrder(ctx context.Context, in models.FundOrderInput, callbackURL string) error
	Order(ctx context.Context, orderID string) (models.FundOrderState, error)
}

// Errors of a FundCompany.
var (
	// ErrFundUnavailable: the fund company did not answer (retried).
	ErrFundUnavailable = errors.New("fund company unavailable")
	// ErrFundRejected: the fund company refused the request (4xx); it will refuse it
	// again.
	ErrFundRejected = errors.New("fund company refused the request")
)

// Fund order states as the fund company names them.
const (
	FundStateAccepted  = "accepted"
	FundStateConfirmed = "confirmed"
	FundStateRejected  = "rejected"
	FundStatePaid      = "paid"
)

// Fund holds the activities of the fund marketplace's orders.
type Fund struct {
	Store   *store.Store
	Ledger  *ledger.Ledger
	Company FundCompany
	// CallbackURL is where the fund company calls back ("" for none: the flow polls).
	CallbackURL string
	Log         *logrus.Entry
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// PlaceFundOrder sends the order to the fund company and answers its state:
// accepted, or rejected with its reason when the fund company refused it (the flow
// then fails the order and releases its hold). No answer is retried, under the same
// order id.
func (a *Fund) PlaceFundOrder(ctx context.Context, in models.FundOrderInput) (models.FundOrderState, error) {
	log := logger(ctx, a.Log).WithField("order_id", in.OrderID)
	err := a.Company.PlaceOrder(ctx, in, a.CallbackURL)
	switch {
	case err == nil:
		log.WithField("trade_date", in.TradeDate).Info("fund order placed")
		return models.FundOrderState{Status: FundStateAccepted}, nil
	case errors.Is(err, ErrFundRejected):
		log.WithError(err).Warn("fund company refused the order")
		return models.FundOrderState{Status: FundStateRejected, Reason: err.Error()}, nil
	default:
		log.WithError(err).Warn("place fund order: no answer, asking again")
		return models.FundOrderState{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
}

// QueryFundOrder asks the fund company where an order it took is. Any failure,
// "no such order" included, is retried: the order was taken.
func (a *Fund) QueryFundOrder(ctx context.Context, orderID string) (models.FundOrderState, error) {
	st, err := a.Company.Order(ctx, orderID)
	if err != nil {
		logger(ctx, a.Log).WithError(err).WithField("order_id", orderID).Warn("query fund order: no answer")
		return models.FundOrderState{}, retryableError(models.ErrTypeUnknownOutcome, err)
	}
	return st, nil
}

// Steps of FinishFundOrder.
const (
	FundStepConfirm = "confirm"
	FundStepPay     = "pay"
	FundStepFail    = "fail"
)

// FinishFundOrderInput is one booked step of an order: its confirmation (the held
// money or shares settled and the other side credited), a redemption's payment, or
// its failure (the hold released).
type FinishFundOrderInput struct {
	Order  models.FundOrderInput `json:"order"`
	Step   string                `json:"step"`
	HoldID string                `json:"hold_id,omitempty"`
	// State is the fund company's confirmation (confirm, pay).
	State       models.FundOrderState `json:"state"`
	FailureCode models.FailureCode    `json:"failure_code,omitempty"`
	// CashKey and SharesKey are the journals' idempotency keys.
	CashKey   string `json:"cash_key"`
	SharesKey string `json:"shares_key"`
}

// FinishFundOrder books one step of an order and records it, in one transaction: a
// replay (a crash after the commit) finds the journals and the order's step done and
// changes nothing.
func (a *Fund) FinishFundOrder(ctx context.Context, in FinishFundOrderInput) error {
	o := in.Order
	log := logger(ctx, a.Log).WithFields(logrus.Fields{"order_id": o.OrderID, "step": in.Step})
	now := clock(a.Now).UTC()
	var book func(tx *ledger.Tx) error
	update := store.FundOrderUpdate{At: now}
	switch in.Step {
	case FundStepFail:
		update.Status, update.FailureCode = models.FundOrderFailed, in.FailureCode
		book = func(tx *ledger.Tx) error {
			if in.HoldID == "" {
				return nil
			}
			_, err := tx.ReleaseHold(in.HoldID)
			return err
		}
	case FundStepConfirm, FundStepPay:
		cash, err := a.Ledger.EnsureAccount(ctx, ledger.FundCashSpec(o.Currency))
		if err != nil {
			return ledgerError(log, err, "the fund cash account")
		}
		position, err := a.Ledger.EnsureAccount(ctx, ledger.PositionSpec(o.AccountID, o.ProductID))
		if err != nil {
			return ledgerError(log, err, "the position account")
		}
		shares, err := a.Ledger.EnsureAccount(ctx, ledger.FundSharesSpec(o.ProductID))
		if err != nil {
			return ledgerError(log, err, "the fund shares account")
		}
		if book, err = fundBooking(in, o.AccountID, cash, position, shares); err != nil {
			return businessError(models.FailureCode(models.ErrTypeInvalidInput), err.Error())
		}
		st := in.State
		if in.Step == FundStepPay {
			update.Status = models.FundOrderPaid
		} else {
			update.Status, update.Amount, update.Shares, update.NAV, update.Fee = models.FundOrderConfirmed, st.Amount, st.Shares, st.NAV, st.Fee
			if o.Kind == models.FundSubscription {
				// A subscription's amount is what the wallet paid in.
				update.Amount = o.Amount
			}
		}
	default:
		return businessError(models.FailureCode(models.ErrTypeInvalidInput), "unknown fund order step "+in.Step)
	}
	var changed bool
	err := a.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		if err := book(tx); err != nil {
			return err
		}
		var err error
		changed, err = tx.SetFundOrderStep(o.OrderID, update)
		return err
	})
	if err != nil {
		return ledgerError(log, err, "the fund order's "+in.Step)
	}
	log.WithFields(logrus.Fields{"status": update.Status, "replayed": !changed, "shares": in.State.Shares, "amount": in.State.Amount}).
		Info("fund order step booked")
	return nil
}

// fundBooking is what a confirmation or a payment posts: money and shares, each
// its own journal (one asset each).
func fundBooking(in FinishFundOrderInput, wallet, cash, position, shares string) (func(tx *ledger.Tx) error, error) {
	o, st := in.Order, in.State
	asset := models.ShareAsset(o.ProductID)
	posting := func(key string, c models.Currency, debit, credit string, amount int64, what string) ledger.Posting {
		return ledger.Posting{
			Key: key, Flow: o.Kind.Flow(), FlowID: o.OrderID, MerchantID: o.MerchantID, Currency: c,
			Description: string(o.Kind) + " " + what,
			Legs:        []ledger.Leg{{AccountID: debit, Amount: -amount}, {AccountID: credit, Amount: amount}},
		}
	}
	switch {
	case in.Step == FundStepConfirm && o.Kind == models.FundSubscription:
		if in.HoldID == "" || st.Shares < 0 {
			return nil, fmt.Errorf("confirm subscription %s: hold %q, shares %d", o.OrderID, in.HoldID, st.Shares)
		}
		money := posting(in.CashKey, o.Currency, wallet, cash, o.Amount, "paid")
		units := posting(in.SharesKey, asset, shares, position, st.Shares, "shares")
		return func(tx *ledger.Tx) error {
			if _, err := tx.SettleHold(in.HoldID, money); err != nil {
				return err
			}
			if st.Shares == 0 {
				return nil
			}
			_, err := tx.Post(units)
			return err
		}, nil
	case in.Step == FundStepConfirm:
		if in.HoldID == "" {
			return nil, fmt.Errorf("confirm redemption %s without its hold", o.OrderID)
		}
		units := posting(in.SharesKey, asset, position, shares, o.Shares, "shares")
		return func(tx *ledger.Tx) error {
			_, err := tx.SettleHold(in.HoldID, units)
			return err
		}, nil
	case o.Kind == models.FundRedemption:
		if st.Amount < 0 {
			return nil, fmt.Errorf("pay redemption %s: amount %d", o.OrderID, st.Amount)
		}
		money := posting(in.CashKey, o.Currency, cash, wallet, st.Amount, "paid out")
		return func(tx *ledger.Tx) error {
			if st.Amount == 0 {
				return nil
			}
			_, err := tx.Post(money)
			return err
		}, nil
	}
	return nil, fmt.Errorf("a subscription is not paid out (%s)", o.OrderID)
}

// PositionAccount answers the wallet's position account in the order's product, ""
// when it has none (it never held the product: nothing to redeem).
func (a *Fund) PositionAccount(ctx context.Context, in models.FundOrderInput) (string, error) {
	acct, ok, err := a.Ledger.Position(ctx, in.AccountID, in.ProductID)
	if err != nil {
		return "", retryableError(models.ErrTypeDatabase, err)
	}
	if !ok {
		return "", nil
	}
	return acct.ID, nil
}
