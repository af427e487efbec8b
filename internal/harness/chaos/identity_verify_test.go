package chaos

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// Verify counts the identity requests of a run where each was billed once, and names
// each way of billing a verification other than exactly once, of answering it wrong,
// or of losing a card.
func TestVerifyIdentity(t *testing.T) {
	rep := greenWorld().run(t)
	require.True(t, rep.OK(), "%s", rep)
	ir := rep.Identity
	assert.Equal(t, map[string]int{"match/bank": 1, "match/cache": 1, "failed/bank_unavailable": 1, "mismatch/bank": 1}, ir.Verifications)
	assert.Equal(t, 1, ir.Repeats)
	assert.Equal(t, 1, ir.RepeatsCached)
	assert.Equal(t, 1, ir.InOutage)
	assert.Equal(t, 3, ir.Executed)
	assert.Equal(t, 3, ir.FeeJournals)
	assert.Equal(t, int64(110), ir.Billed)
	assert.Equal(t, 0, ir.BilledWrong)
	assert.Equal(t, map[string]int{"active": 1}, ir.Bindings)
	assert.Contains(t, rep.String(), "identity: verifications {failed/bank_unavailable=1 match/bank=1 match/cache=1 mismatch/bank=1}")

	for name, tc := range map[string]struct {
		change func(w *world)
		want   string
	}{
		"billed twice under another key": {func(w *world) {
			w.feeJournals["ver_1"] = append(w.feeJournals["ver_1"], FeeJournal{"verification/ver_1/fee-again", 50})
		}, "verification ver_1 (match) was billed 2 times (want once, 50): verification/ver_1/fee 50, verification/ver_1/fee-again 50"},
		"never billed": {func(w *world) { delete(w.feeJournals, "ver_1") }, "verification ver_1 (match) was billed 0 times"},
		"cached billed at the bank's price": {func(w *world) { w.feeJournals["ver_2"] = []FeeJournal{{"verification/ver_2/fee", 50}} },
			`verification ver_2 (repeat) was billed 50 under "verification/ver_2/fee"; want 10`},
		"billed under a foreign key": {func(w *world) { w.feeJournals["ver_4"] = []FeeJournal{{"payment/ver_4/fee", 50}} },
			`verification ver_4 (mismatch) was billed 50 under "payment/ver_4/fee"`},
		"failed, yet billed": {func(w *world) { w.feeJournals["ver_3"] = []FeeJournal{{"verification/ver_3/fee", 50}} },
			"verification ver_3 (timeout) costs nothing but was billed 50 in 1 journals"},
		"fee of the wrong origin": {func(w *world) {
			w.identity["/v1/verifications/ver_1"] = verificationObject{ID: "ver_1", Status: "succeeded", Result: "match", Fee: 10}
		}, "verification ver_1 (match) ended succeeded (cached false) with fee 10; that costs 50"},
		"wrong result": {func(w *world) {
			w.identity["/v1/verifications/ver_1"] = verificationObject{ID: "ver_1", Status: "succeeded", Result: "mismatch", Fee: 50}
		}, "verification ver_1 (match) answered mismatch, its elements must get match"},
		"failed without a code": {func(w *world) {
			w.identity["/v1/verifications/ver_3"] = verificationObject{ID: "ver_3", Status: "failed"}
		}, "verification ver_3 (timeout) failed without a failure code"},
		"never ends": {func(w *world) {
			w.identity["/v1/verifications/ver_1"] = verificationObject{ID: "ver_1", Status: "processing"}
		}, "verification ver_1 (match) never ended"},
		"cached, yet executed": {func(w *world) { w.executions["ver_2"] = 1 }, "verification ver_2 (repeat) was answered from the cache but the bank executed it 1 times"},
		"executed twice":       {func(w *world) { w.executions["ver_1"] = 2 }, "the bank executed verification ver_1 (match) 2 times"},
		"answered, never executed": {func(w *world) { delete(w.executions, "ver_4") },
			"verification ver_4 (mismatch) was answered by the bank, which executed it 0 times"},
		"cached while the cache was down": {func(w *world) {
			w.identity["/v1/verifications/ver_4"] = verificationObject{ID: "ver_4", Status: "succeeded", Result: "mismatch", Cached: true, Fee: 10}
			w.feeJournals["ver_4"] = []FeeJournal{{"verification/ver_4/fee", 10}}
			w.executions["ver_4"] = 0
			w.settlement["mch_1"] += 40
		}, "verification ver_4 (mismatch) was asked and ended while the cache was down, yet answered from the cache"},
		"settlement without the fees": {func(w *world) { w.settlement["mch_1"] = 5700 }, "settlement balance 5700; the payments and refunds (less the verifications' fees) reported 5590"},
		"fee journal of an unknown verification": {func(w *world) { w.feeJournals["ver_9"] = []FeeJournal{{"verification/ver_9/fee", 50}} },
			`1 ledger journals of "ver_9", which no flow of the run is`},
		"card not active": {func(w *world) {
			w.identity["/v1/accounts/acct_2/cards/card_1"] = Object{ID: "card_1", Status: "failed", FailureCode: "otp_expired"}
		}, "card card_1 was confirmed but is failed otp_expired"},
		"binding executed twice": {func(w *world) { w.executions["card_1"] = 2 }, "the bank executed the binding of card card_1 2 times (want 1)"},
	} {
		t.Run(name, func(t *testing.T) {
			w := greenWorld()
			tc.change(&w)
			rep := w.run(t)
			require.False(t, rep.OK())
			assert.Contains(t, strings.Join(rep.Problems, "\n"), tc.want)
		})
	}
}

// The run's identities pass the API's checks, and each plan asks what it says.
func TestVerificationPlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200; i++ {
		c := NewCardholder(rng)
		require.True(t, models.ValidCardNumber(c.CardNumber), c.CardNumber)
		require.True(t, models.ValidIDNumber(c.IDNumber), c.IDNumber)
		require.True(t, models.ValidPhone(c.Phone), c.Phone)
	}
	plan := verificationPlan(40, rng)
	require.Len(t, plan, 40)
	cases := map[string]int{}
	for i, it := range plan {
		cases[it.Case]++
		assert.True(t, models.ValidCardNumber(it.Elements.CardNumber), "item %d", i)
		if it.Of >= 0 {
			require.Less(t, it.Of, i, "a repeat follows what it repeats")
			assert.Equal(t, plan[it.Of].Elements, it.Elements, "item %d", i)
			assert.Equal(t, plan[it.Of].Want, it.Want, "item %d", i)
		}
		if it.Register != nil && it.Want == "mismatch" {
			assert.NotEqual(t, it.Register.Name, it.Elements.Name, "a mismatch is another name than the bank's")
		}
	}
	assert.Equal(t, map[string]int{"match": 10, "repeat": 10, "mismatch": 5, "timeout": 5, "seeded": 5, "unknown_card": 5}, cases)
	repeats := 0
	for _, it := range plan {
		if it.Of >= 0 {
			repeats++
		}
	}
	// Both repeats of each cycle, the timeout card after three cycles and the
	// seeded cards after two.
	assert.Equal(t, 10+2+3, repeats)
}
