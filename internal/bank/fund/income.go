package fund

import (
	"context"
	"errors"
	"fmt"

	"github.com/payflow/payflow/activities"
)

// Income is the client as the balance yield's activities use it
// (activities.IncomeSource): ErrNotFound (the day's income not published yet) becomes
// activities.ErrIncomeNotPublished, ErrRejected activities.ErrFundRejected, anything
// else activities.ErrFundUnavailable (asked again).
type Income struct{ C *Client }

var _ activities.IncomeSource = Income{}

// Income answers the money-market product's published income per 10,000 units of
// date.
func (i Income) Income(ctx context.Context, date string) (int64, error) {
	inc, err := i.C.Income(ctx, date)
	switch {
	case err == nil:
		return inc, nil
	case errors.Is(err, ErrNotFound):
		return 0, fmt.Errorf("%w: %w", activities.ErrIncomeNotPublished, err)
	case errors.Is(err, ErrRejected):
		return 0, fmt.Errorf("%w: %w", activities.ErrFundRejected, err)
	}
	return 0, fmt.Errorf("%w: %w", activities.ErrFundUnavailable, err)
}
