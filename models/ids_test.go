package models

import (
	"encoding/binary"
	"testing"
	"time"
)

// idAt encodes an id body for a given time without touching NewID's generator state.
func idAt(at time.Time) string {
	var b [16]byte
	ms := uint64(at.UnixMilli())
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	b[6], b[15] = 0x5a, 0xff
	return encodeBase32(b)
}

func TestIDTime(t *testing.T) {
	at := time.Date(2026, 11, 25, 14, 8, 16, 123_000_000, time.UTC)
	tests := []struct {
		name string
		id   string
		want time.Time
		ok   bool
	}{
		{"payment", PrefixPayment + idAt(at), at, true},
		{"refund", PrefixRefund + idAt(at.Add(time.Hour)), at.Add(time.Hour), true},
		{"seeded id", "mch_demo", time.Time{}, false},
		{"no prefix", "x", time.Time{}, false},
		{"bad digit", "pay_0000000000000000000000000u", time.Time{}, false},
		{"overflowing first digit", "pay_z0000000000000000000000000"[:30], time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := IDTime(tc.id)
			if ok != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("IDTime(%q) = %v, %v; want %v, %v", tc.id, got, ok, tc.want, tc.ok)
			}
		})
	}
	if got, ok := IDTime(NewID(PrefixWithdrawal)); !ok || time.Since(got) > time.Minute || time.Since(got) < 0 {
		t.Fatalf("IDTime(NewID) = %v, %v", got, ok)
	}
}
