// Package secretbox encrypts small secrets at rest (merchant signing secrets) with
// AES-256-GCM under a key from configuration, so that a database dump or a log line
// never holds a secret in clear.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// version prefixes every sealed value, so that a later key or algorithm change can be
// told apart from this one.
const version = "v1:"

// ErrCorrupt reports a sealed value that does not decrypt under the key.
var ErrCorrupt = errors.New("secretbox: value does not decrypt")

// Box seals and opens values with one key.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secretbox: key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext with a random nonce; associated binds the value to its row
// (the merchant id), so that a sealed secret copied to another row does not open.
func (b *Box) Seal(plaintext, associated string) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(associated))
	return version + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal produced with the same associated data.
func (b *Box) Open(sealed, associated string) (string, error) {
	if !strings.HasPrefix(sealed, version) {
		return "", ErrCorrupt
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, version))
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", ErrCorrupt
	}
	nonce, ct := raw[:b.aead.NonceSize()], raw[b.aead.NonceSize():]
	pt, err := b.aead.Open(nil, nonce, ct, []byte(associated))
	if err != nil {
		return "", ErrCorrupt
	}
	return string(pt), nil
}
