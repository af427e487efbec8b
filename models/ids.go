package models

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Prefixes of payflow's object ids. An id is the prefix and 26 characters of
// lowercase Crockford base32: 48 bits of milliseconds since the epoch, then 80 bits
// that are random for the first id of a millisecond and incremented after, so that
// ids sort by creation time and "newest first" is "id descending".
const (
	PrefixAccount        = "acct_"
	PrefixPayment        = "pay_"
	PrefixRefund         = "re_"
	PrefixTopup          = "top_"
	PrefixWithdrawal     = "wd_"
	PrefixReconciliation = "rec_"
	PrefixEvent          = "evt_"
	PrefixMerchant       = "mch_"
	PrefixJournal        = "jnl_"
	PrefixEntry          = "ent_"
	PrefixHold           = "hold_"
	PrefixDifference     = "dif_"
	PrefixAudit          = "aud_"
	// PrefixReversal starts the bank reference of the refund that reverses a whole
	// charge (a compensation): rev_ followed by the charge's own id, so that every
	// adapter can tell its kind (a refund) and its time (the charge's) from it.
	PrefixReversal = "rev_"
)

// ReversalReference is the bank reference of the refund that reverses the charge
// with reference chargeRef: derived from the charge, so that a compensation that runs
// again finds its first refund at the bank instead of refunding twice.
func ReversalReference(chargeRef string) string { return PrefixReversal + chargeRef }

// ReversedCharge returns the charge reference a reversal reference reverses.
func ReversedCharge(ref string) (string, bool) {
	if !strings.HasPrefix(ref, PrefixReversal) || len(ref) == len(PrefixReversal) {
		return "", false
	}
	return ref[len(PrefixReversal):], true
}

const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

const idBodyLen = 26

var idGen struct {
	sync.Mutex
	lastMS  uint64
	lastRnd [10]byte
}

// NewID returns a new time-ordered id with the given prefix.
func NewID(prefix string) string {
	return prefix + newIDBody(time.Now())
}

func newIDBody(now time.Time) string {
	ms := uint64(now.UnixMilli())
	idGen.Lock()
	if ms <= idGen.lastMS {
		// Same millisecond (or a clock step back): increment so that ids stay
		// strictly increasing within this process.
		ms = idGen.lastMS
		for i := len(idGen.lastRnd) - 1; i >= 0; i-- {
			idGen.lastRnd[i]++
			if idGen.lastRnd[i] != 0 {
				break
			}
		}
	} else {
		idGen.lastMS = ms
		if _, err := rand.Read(idGen.lastRnd[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		// Leave headroom for increments within the millisecond.
		idGen.lastRnd[0] &= 0x7f
	}
	var b [16]byte
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	copy(b[6:], idGen.lastRnd[:])
	idGen.Unlock()
	return encodeBase32(b)
}

// encodeBase32 writes 128 bits as 26 base32 digits, most significant first, so that
// byte order and string order agree.
func encodeBase32(b [16]byte) string {
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	var out [idBodyLen]byte
	for i := idBodyLen - 1; i >= 0; i-- {
		out[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s is an id with the given prefix: the prefix, then 1 to 64
// characters of [a-z0-9_]. Demo and seeded ids (mch_demo) are valid; so is every id
// NewID makes.
func ValidID(prefix, s string) bool {
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	body := s[len(prefix):]
	if len(body) == 0 || len(body) > 64 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// IDTime returns the creation time (millisecond precision) carried by an id NewID
// made: the first 48 of the 128 bits after the prefix. ok is false for ids that do
// not carry one (seeded ids like mch_demo). A bank adapter uses it to bound a search
// for a reference to the objects created since the reference existed.
func IDTime(id string) (t time.Time, ok bool) {
	i := strings.LastIndexByte(id, '_')
	if i < 0 || len(id)-i-1 != idBodyLen {
		return time.Time{}, false
	}
	body := id[i+1:]
	// 26 digits of 5 bits are 130 bits: the first digit holds only the top 2 bits
	// of the 128, so it is 0-3.
	var ms uint64
	for j := 0; j < idBodyLen; j++ {
		v := strings.IndexByte(idAlphabet, body[j])
		if v < 0 || j == 0 && v > 3 {
			return time.Time{}, false
		}
		// The timestamp is bits 2..49 of the 130 (bits 0-1 are always zero).
		if j < 10 {
			ms = ms<<5 | uint64(v)
		}
	}
	// Ten digits are 50 bits: the 2 leading zero bits and the 48-bit timestamp.
	return time.UnixMilli(int64(ms)).UTC(), true
}
