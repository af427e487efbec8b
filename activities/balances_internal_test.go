package activities

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// Each line difference explains the bank side's signed amount minus the ledger
// side's (our side's when it has no ledger side), in each side's currency.
func TestLineDifferenceNet(t *testing.T) {
	side := func(kind string, amount int64, currency, status string) *models.DifferenceSide {
		return &models.DifferenceSide{Kind: kind, Amount: amount, Currency: currency, Status: status}
	}
	tests := []struct {
		name string
		d    models.Difference
		want map[string]int64
	}{
		{"amount mismatch, no ledger side", models.Difference{
			Bank: side("charge", 500, "EUR", "succeeded"), Ours: side("charge", 400, "EUR", "succeeded")},
			map[string]int64{"EUR": 100}},
		{"missing on our side", models.Difference{Bank: side("charge", 70, "EUR", "succeeded")}, map[string]int64{"EUR": 70}},
		{"missing at bank, a payout", models.Difference{Ours: side("payout", 300, "EUR", "succeeded")}, map[string]int64{"EUR": 300}},
		{"failed on both sides", models.Difference{
			Bank: side("charge", 90, "EUR", "failed"), Ours: side("charge", 90, "EUR", "failed")}, map[string]int64{}},
		{"status mismatch: the bank executed what we failed", models.Difference{
			Bank: side("charge", 90, "EUR", "succeeded"), Ours: side("charge", 90, "EUR", "failed")}, map[string]int64{"EUR": 90}},
		{"not booked: the ledger side rules over ours", models.Difference{
			Bank: side("refund", 200, "EUR", "succeeded"), Ours: side("refund", 200, "EUR", "succeeded"),
			Ledger: side("journal", 0, "EUR", "not_booked")}, map[string]int64{"EUR": -200}},
		{"booked, signed by our object's kind", models.Difference{
			Ours: side("withdrawal", 300, "EUR", "succeeded"), Ledger: side("journal", 300, "EUR", "booked")},
			map[string]int64{"EUR": 300}},
		{"currency mismatch", models.Difference{
			Bank: side("charge", 100, "USD", "succeeded"), Ours: side("payment", 100, "EUR", "succeeded")},
			map[string]int64{"USD": 100, "EUR": -100}},
		{"malformed line", models.Difference{Raw: "x,y"}, map[string]int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]int64{}
			lineDifferenceNet(tt.d, got, 1)
			require.Equal(t, tt.want, got)
		})
	}
}
