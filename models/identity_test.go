package models

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The test identities (synthetic: the card numbers are test PANs, the ID numbers
// carry valid check characters but belong to nobody).
var testIdentities = []struct {
	card, name, id, phone string
}{
	{"6222021000000000017", "张三", "110105199003070017", "13800138000"},
	{"6222021000000000025", "李四", "310115198512240024", "13900139000"},
	{"6228480000000000059", "王五", "440304199208150038", "13700137000"},
	{"", "赵六", "11010519900307005X", ""},
}

func TestTestIdentitiesAreValid(t *testing.T) {
	for _, p := range testIdentities {
		if p.card != "" && !ValidCardNumber(p.card) {
			t.Errorf("card %s of %s: not valid", p.card, p.name)
		}
		if !ValidIDNumber(p.id) {
			t.Errorf("ID number %s of %s: not valid", p.id, p.name)
		}
		if p.phone != "" && !ValidPhone(p.phone) {
			t.Errorf("phone %s of %s: not valid", p.phone, p.name)
		}
	}
}

func TestValidCardNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"6222021000000000017", true},
		{"4242424242424242", true},    // 16 digits
		{"000000000000", true},        // 12 digits, Luhn sum 0
		{"0000000000000000000", true}, // 19 digits
		{"6222021000000000018", false},
		{"6222021000000000071", false},     // two digits swapped
		{"00000000000", false},             // 11 digits
		{"00000000000000000000", false},    // 20 digits
		{"6222 0210 0000 0000 017", false}, // spaces
		{"6222-0210-0000-0000-017", false},
		{"622202100000000001a", false},
		{"６２２２０２１０００００００００１７", false}, // full-width digits
		{"", false},
	}
	for _, tc := range tests {
		if got := ValidCardNumber(tc.in); got != tc.want {
			t.Errorf("ValidCardNumber(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidIDNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"110105199003070017", true},
		{"11010519900307005X", true},
		{"11010519900307005x", true}, // lower-case x is X
		{"110105199003070018", false},
		{"110105199003070010", false},
		{"11010519900307001X", false},  // X where the check is 7
		{"110105199003070050", false},  // 0 where the check is X
		{"X10105199003070017", false},  // X only as the 18th
		{"11010519900307001", false},   // 17
		{"1101051990030700170", false}, // 19
		{"110105 99003070017", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := ValidIDNumber(tc.in); got != tc.want {
			t.Errorf("ValidIDNumber(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidPhone(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"13800138000", true},
		{"19900000000", true},
		{"23800138000", false},
		{"1380013800", false},
		{"138001380000", false},
		{"+8613800138000", false},
		{"138-0013-8000", false},
		{"1380013800a", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := ValidPhone(tc.in); got != tc.want {
			t.Errorf("ValidPhone(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMasks(t *testing.T) {
	tests := []struct {
		name string
		mask func(string) string
		in   string
		want string
	}{
		{"card 19", MaskCardNumber, "6222021000000000017", "6222 **** **** 0017"},
		{"card 16", MaskCardNumber, "4242424242424242", "4242 **** **** 4242"},
		{"card 12", MaskCardNumber, "123456789012", "1234 **** **** 9012"},
		{"card bad Luhn still masked", MaskCardNumber, "6222021000000000018", "6222 **** **** 0018"},
		{"card 11", MaskCardNumber, "12345678901", "****"},
		{"card 20", MaskCardNumber, "12345678901234567890", "****"},
		{"card spaced", MaskCardNumber, "6222 0210 0000 0000 017", "****"},
		{"card empty", MaskCardNumber, "", "****"},
		{"name 2", MaskName, "张三", "张*"},
		{"name 3", MaskName, "王小明", "王**"},
		{"name 1", MaskName, "张", "*"},
		{"name latin", MaskName, "Alice", "A****"},
		{"name digits", MaskName, "6222021000000000017", "****"},
		{"name empty", MaskName, "", "****"},
		{"name bad UTF-8", MaskName, "\xff\xfe", "****"},
		{"ID", MaskIDNumber, "110105199003070017", "1101**********0017"},
		{"ID X", MaskIDNumber, "11010519900307005X", "1101**********005X"},
		{"ID x", MaskIDNumber, "11010519900307005x", "1101**********005X"},
		{"ID 17", MaskIDNumber, "11010519900307001", "****"},
		{"ID letters", MaskIDNumber, "1101051990030700AB", "****"},
		{"phone", MaskPhone, "13800138000", "138****8000"},
		{"phone 12", MaskPhone, "138001380000", "****"},
		{"phone not 1", MaskPhone, "23800138000", "****"},
	}
	for _, tc := range tests {
		if got := tc.mask(tc.in); got != tc.want {
			t.Errorf("%s: mask(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestIdentityKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	base := IdentityKey(key, "6222021000000000017", "张三", "110105199003070017", "13800138000")
	if len(base) != 64 || strings.Trim(base, "0123456789abcdef") != "" {
		t.Fatalf("IdentityKey = %q, want 64 lower-case hex digits", base)
	}
	if again := IdentityKey(key, "6222021000000000017", "张三", "110105199003070017", "13800138000"); again != base {
		t.Fatalf("IdentityKey is not deterministic: %s then %s", base, again)
	}
	// Each differs from base, and from each other.
	others := map[string][]string{
		"split moved":     {"622202100000000001", "7张三", "110105199003070017", "13800138000"},
		"joined":          {"6222021000000000017张三110105199003070017", "13800138000"},
		"all in one":      {"6222021000000000017张三11010519900307001713800138000"},
		"an empty part":   {"6222021000000000017", "张三", "110105199003070017", "13800138000", ""},
		"order":           {"张三", "6222021000000000017", "110105199003070017", "13800138000"},
		"one digit":       {"6222021000000000025", "张三", "110105199003070017", "13800138000"},
		"no parts":        nil,
		"one empty part":  {""},
		"two empty parts": {"", ""},
	}
	seen := map[string]string{base: "base"}
	for name, parts := range others {
		k := IdentityKey(key, parts...)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s and %s have the same key %s", name, prev, k)
		}
		seen[k] = name
	}
	if other := IdentityKey([]byte("another key, also 32 bytes long!"), "6222021000000000017", "张三", "110105199003070017", "13800138000"); other == base {
		t.Error("another HMAC key gives the same identity key")
	}
	for _, k := range [][]byte{nil, []byte("short")} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("IdentityKey with a %d-byte key did not panic", len(k))
				}
			}()
			IdentityKey(k, "x")
		}()
	}
}

// digitsOf is the ASCII digits of s, in order.
func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// FuzzIdentity: the validators and masks never panic; a mask never shows more than 8
// of its input's digits (those are its first and last ones), nor more digits than the
// input has, nor more characters than the input or a card mask has; what validates
// also has a mask other than "****".
func FuzzIdentity(f *testing.F) {
	for _, p := range testIdentities {
		f.Add(p.card)
		f.Add(p.name)
		f.Add(p.id)
		f.Add(p.phone)
	}
	for _, s := range []string{"", "x", "11010519900307005x", "6222 0210 0000 0000 017", "\xff", "张", "000000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		card, id, phone := ValidCardNumber(s), ValidIDNumber(s), ValidPhone(s)
		masks := map[string]string{
			"card": MaskCardNumber(s), "id": MaskIDNumber(s), "phone": MaskPhone(s), "name": MaskName(s),
		}
		for kind, m := range masks {
			if n := len(digitsOf(m)); n > 8 {
				t.Fatalf("%s mask of %q shows %d digits: %q", kind, s, n, m)
			}
			if len(digitsOf(m)) > len(digitsOf(s)) {
				t.Fatalf("%s mask of %q shows digits the input lacks: %q", kind, s, m)
			}
			if utf8.RuneCountInString(m) > max(utf8.RuneCountInString(s), len("6222 **** **** 0017")) {
				t.Fatalf("%s mask of %q is longer than it: %q", kind, s, m)
			}
		}
		if card && masks["card"] == maskedInvalid || id && masks["id"] == maskedInvalid || phone && masks["phone"] == maskedInvalid {
			t.Fatalf("%q validates but is masked as invalid: %v", s, masks)
		}
		if id && !idShape(NormalizeIDNumber(s)) {
			t.Fatalf("%q validates as an ID number but has not its shape", s)
		}
		if card && (len(s) < 12 || len(s) > 19 || digitsOf(s) != s) {
			t.Fatalf("%q validates as a card number but is not 12-19 digits", s)
		}
		// The digits a mask shows are the input's first and last ones.
		if m := masks["card"]; m != maskedInvalid && digitsOf(m) != s[:4]+s[len(s)-4:] {
			t.Fatalf("card mask of %q is %q", s, m)
		}
		if m := masks["phone"]; m != maskedInvalid && digitsOf(m) != s[:3]+s[7:] {
			t.Fatalf("phone mask of %q is %q", s, m)
		}
	})
}

// FuzzIdentityKey: splitting the same characters at another place never gives the
// same key.
func FuzzIdentityKey(f *testing.F) {
	f.Add("6222021000000000017张三", 19, 3)
	f.Add("", 0, 0)
	f.Add("ab", 1, 2)
	key := []byte("0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, s string, i, j int) {
		if len(s) == 0 {
			return
		}
		i, j = abs(i)%(len(s)+1), abs(j)%(len(s)+1)
		if i == j {
			return
		}
		if a, b := IdentityKey(key, s[:i], s[i:]), IdentityKey(key, s[:j], s[j:]); a == b {
			t.Fatalf("%q split at %d and at %d: same key %s", s, i, j, a)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // math.MinInt
			return 0
		}
		return -n
	}
	return n
}
