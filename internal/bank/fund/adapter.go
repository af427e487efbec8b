package fund

import (
	"context"
	"errors"
	"fmt"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// Company is the client as the fund order activities use it
// (activities.FundCompany): ErrUnavailable becomes activities.ErrFundUnavailable
// (asked again), ErrRejected activities.ErrFundRejected.
type Company struct{ C *Client }

var _ activities.FundCompany = Company{}

func adapt(err error) error {
	switch {
	case errors.Is(err, ErrNotFound):
		// Not proof of anything: asked again.
		return fmt.Errorf("%w: %w", activities.ErrFundUnavailable, err)
	case errors.Is(err, ErrRejected):
		return fmt.Errorf("%w: %w", activities.ErrFundRejected, err)
	}
	return fmt.Errorf("%w: %w", activities.ErrFundUnavailable, err)
}

// PlaceOrder places the order under its id (a repeat answers the same order).
func (c Company) PlaceOrder(ctx context.Context, in models.FundOrderInput, callbackURL string) error {
	o := Order{OrderID: in.OrderID, Kind: string(in.Kind), ProductID: in.ProductID, TradeDate: in.TradeDate, CallbackURL: callbackURL}
	if in.Kind == models.FundRedemption {
		o.Shares = in.Shares
	} else {
		o.Amount = in.Amount
	}
	if _, err := c.C.PlaceOrder(ctx, o); err != nil {
		return adapt(err)
	}
	return nil
}

// Order answers the fund company's state of the order.
func (c Company) Order(ctx context.Context, orderID string) (models.FundOrderState, error) {
	st, err := c.C.Order(ctx, orderID)
	if err != nil {
		return models.FundOrderState{}, adapt(err)
	}
	return models.FundOrderState{Status: st.Status, NAV: st.NAV, Shares: st.Shares, Amount: st.Amount, Fee: st.Fee, Reason: st.Reason}, nil
}
