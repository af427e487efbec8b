package chaos

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A run that never took an edge it was to exercise is a problem: it proved nothing
// about it.
func TestEdgesCoverage(t *testing.T) {
	var empty Report
	EdgesReport{}.Coverage(&empty)
	assert.Len(t, empty.Problems, 9)
	assert.Contains(t, strings.Join(empty.Problems, "\n"), "the run exercised no payout canceled at its deadline (withdrawal failed expired)")

	full := Report{
		ByCode:         map[string]int{"payment.canceled": 1, "withdrawal.canceled": 1, "withdrawal.expired": 1, "payment.merchant_disabled": 1},
		CanceledAtBank: 1, Reversed: 1, Attention: 1, Channels: map[string]int{"stripe": 1},
	}
	EdgesReport{Refused: 1}.Coverage(&full)
	assert.Empty(t, full.Problems)
}
