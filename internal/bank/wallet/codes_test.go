package wallet

import "testing"

func TestProviderForCode(t *testing.T) {
	tests := []struct {
		code string
		want string
	}{
		{"250000000000000000", Alipay},
		{"300000000000000009", Alipay},
		{"100000000000000001", Wxpay},
		{"159999999999999999", Wxpay},
		{"240000000000000000", ""},
		{"310000000000000000", ""},
		{"160000000000000000", ""},
		{"990000000000000000", ""},  // payflow's own wallet code
		{"09000000000000000", ""},   // 17 digits
		{"2800000000000000000", ""}, // 19 digits
		{"28000000000000000a", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := ProviderForCode(tt.code)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("ProviderForCode(%q) = %q, %v; want %q", tt.code, got, ok, tt.want)
		}
	}
}
