package models

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// Identity elements (card number, name, ID number, phone) are personal data: they are
// validated here, shown only masked (the Mask* functions: their formats are a
// contract with the dashboards and the support tools), and never logged or cached as
// they are. A cache keys a verification result by IdentityKey, an HMAC of the
// elements, so that the elements themselves never reach it.

// maskedInvalid is what every Mask* function returns for an input that does not have
// the shape it masks: an input of another shape could be anything (another person's
// element, a card number pasted into a name field), so nothing of it is shown.
const maskedInvalid = "****"

// isDigits reports whether s is non-empty and only ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cardShape: a card number is 12 to 19 ASCII digits (ISO/IEC 7812 PANs; the shortest
// in use are 12).
func cardShape(s string) bool { return len(s) >= 12 && len(s) <= 19 && isDigits(s) }

// luhn reports whether the digits of s pass the Luhn check (s is all digits).
func luhn(s string) bool {
	sum := 0
	double := false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// ValidCardNumber reports whether s is a card number: 12 to 19 ASCII digits, no
// spaces or dashes, with a valid Luhn check digit.
func ValidCardNumber(s string) bool { return cardShape(s) && luhn(s) }

// GB 11643-1999: the check character of a resident ID number is
// checkChars[sum(digit[i] * idWeights[i]) mod 11].
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheckChars = "10X98765432"

// NormalizeIDNumber returns s with a lower-case check character x made upper-case:
// people type either, and GB 11643-1999 writes X. Nothing else is changed (no
// trimming: a value with spaces is not an ID number).
func NormalizeIDNumber(s string) string {
	if len(s) == 18 && s[17] == 'x' {
		return s[:17] + "X"
	}
	return s
}

// idShape: 17 ASCII digits then a digit or X (after NormalizeIDNumber).
func idShape(s string) bool {
	return len(s) == 18 && isDigits(s[:17]) && (s[17] == 'X' || (s[17] >= '0' && s[17] <= '9'))
}

// ValidIDNumber reports whether s is an 18-character resident ID number whose 18th
// character is its GB 11643-1999 check character. A lower-case x is accepted as X
// (the value is normalised with NormalizeIDNumber first; callers that store or key
// it should store the normalised form, so that both spellings are one person).
// Only the check character is verified, not the region code or the birth date.
func ValidIDNumber(s string) bool {
	s = NormalizeIDNumber(s)
	if !idShape(s) {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(s[i]-'0') * idWeights[i]
	}
	return s[17] == idCheckChars[sum%11]
}

// ValidPhone reports whether s is a mainland mobile number: 11 ASCII digits, the
// first 1 (no +86, spaces or dashes).
func ValidPhone(s string) bool { return len(s) == 11 && isDigits(s) && s[0] == '1' }

// MaskCardNumber shows the first 4 and last 4 digits of a card number, grouped as
// "6222 **** **** 0017" whatever its length (12 to 19 digits), so that the mask does
// not tell the length either. Anything not 12-19 digits (the Luhn digit is not
// checked: a mistyped number is masked too) is "****".
func MaskCardNumber(s string) string {
	if !cardShape(s) {
		return maskedInvalid
	}
	return s[:4] + " **** **** " + s[len(s)-4:]
}

// MaskIDNumber shows the first 4 and last 4 characters of an ID number with 10 stars
// between: "1101**********0017". A lower-case x is shown as X. Anything not of an
// ID number's shape (17 digits and a digit or X; the check character is not
// verified) is "****".
func MaskIDNumber(s string) string {
	s = NormalizeIDNumber(s)
	if !idShape(s) {
		return maskedInvalid
	}
	return s[:4] + "**********" + s[14:]
}

// MaskPhone shows the first 3 and last 4 digits of a phone number: "138****8000".
// Anything not 11 digits starting with 1 is "****".
func MaskPhone(s string) string {
	if !ValidPhone(s) {
		return maskedInvalid
	}
	return s[:3] + "****" + s[7:]
}

// MaskName shows a name's first character and one star for each other character:
// "张三" is "张*", "王小明" is "王**". A one-character name is "*" (its first
// character is all of it). A name that is empty, not valid UTF-8, or holds a digit
// (a card or ID number typed into the wrong field) is "****".
func MaskName(s string) string {
	if s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, "0123456789") {
		return maskedInvalid
	}
	first, size := utf8.DecodeRuneInString(s)
	rest := utf8.RuneCountInString(s[size:])
	if rest == 0 {
		return "*"
	}
	return string(first) + strings.Repeat("*", rest)
}

// IdentityKey is the hex HMAC-SHA256 under key of parts, each written as its length
// (8 bytes, big-endian) then its bytes, so that different splits of the same
// characters ("ab","c" and "a","bc") give different keys. It keys what is cached
// about a set of identity elements (a verification result) without the elements
// themselves reaching the cache; without the key, a key cannot be brute-forced back
// to a phone number or an ID number. The key must be a secret of at least 16 bytes;
// a shorter one is a programming error and panics.
func IdentityKey(key []byte, parts ...string) string {
	if len(key) < 16 {
		panic("models.IdentityKey: the HMAC key must be a secret of at least 16 bytes")
	}
	mac := hmac.New(sha256.New, key)
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		mac.Write(n[:])
		mac.Write([]byte(p))
	}
	return hex.EncodeToString(mac.Sum(nil))
}
