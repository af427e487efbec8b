package banksim

import (
	"crypto/rand"
	"encoding/hex"
)

// newID returns prefix plus 24 random hex digits, as bank-side ids look:
// unrelated to the caller's reference.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand.Read panics rather than err since Go 1.24)
	return prefix + hex.EncodeToString(b[:])
}
