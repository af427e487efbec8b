package store

import "testing"

// The retention purge deletes by table name from purgeSpecs, which the ledger's
// append-only grep cannot read: the money facts (journals, entries, holds and their
// closures, bank transfer records) must never be one of them.
func TestRetentionNeverPurgesMoneyFacts(t *testing.T) {
	money := map[string]bool{"journals": true, "entries": true, "holds": true, "hold_closures": true, "bank_transfers": true}
	for kind, spec := range purgeSpecs {
		if money[spec.table] {
			t.Errorf("retention kind %s purges %s, a money fact kept for good", kind, spec.table)
		}
	}
	if len(purgeSpecs) == 0 {
		t.Fatal("no retention kinds: the check sees nothing")
	}
}
