package fund

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/models"
)

// The simulator's files of a date are what reconciliation parses: its decided
// orders in the confirmations file and our shares in the holdings file, once the
// date is over (ErrNotFound before).
func TestFilesAreWhatReconciliationReads(t *testing.T) {
	e := newFundEnv(t)
	ctx := context.Background()
	e.faults(t, func(f *banksim.FundFaults) {})
	today := e.today(t, 0).Format(dateLayout)
	trade := e.tradingDayBefore(t, e.today(t, 0))
	_, err := e.c.PlaceOrder(ctx, Order{OrderID: "sub_f1", Kind: KindSubscription, ProductID: ProductBond, Amount: 100_000, TradeDate: trade})
	require.NoError(t, err)
	got := e.await(t, "sub_f1", StatusConfirmed)

	_, err = Files{C: e.c}.Confirmations(ctx, today)
	require.ErrorIs(t, err, ErrNotFound, "the date is not over")

	e.today(t, 1)
	body, err := Files{C: e.c}.Confirmations(ctx, today)
	require.NoError(t, err)
	lines, bad, err := recon.ParseConfirmations(body)
	require.NoError(t, body.Close())
	require.NoError(t, err)
	require.Empty(t, bad)
	require.Equal(t, []recon.FundLine{{OrderID: "sub_f1", Kind: models.FundSubscription, ProductID: ProductBond, TradeDate: trade,
		Status: recon.FundLineConfirmed, NAV: got.NAV, Shares: got.Shares, Amount: 100_000, Fee: got.Fee, No: 2}}, lines)

	body, err = Files{C: e.c}.Holdings(ctx, today)
	require.NoError(t, err)
	holdings, err := recon.ParseHoldings(body)
	require.NoError(t, body.Close())
	require.NoError(t, err)
	require.Contains(t, holdings, recon.Holding{ProductID: ProductBond, Shares: got.Shares})
	require.Contains(t, holdings, recon.Holding{ProductID: ProductEquity, Shares: 0})
}
