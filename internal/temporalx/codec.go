package temporalx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/payflow/payflow/internal/config"
)

// Metadata of an encrypted payload. The key id rides in every payload, so that the
// codec (in a worker, the API or the codec endpoint) needs nothing but its keys to
// open it, and a payload sealed before a rotation still opens after it.
const (
	// EncodingEncrypted is the encoding of a payload the Codec sealed.
	EncodingEncrypted = "binary/encrypted"
	// MetadataKeyID names the key that sealed the payload.
	MetadataKeyID = "encryption-key-id"
)

// Errors of Codec.Decode, each wrapped in a converter.WorkflowTaskFailureError
// (errors.Is finds them through it).
var (
	// ErrUnknownKey: the payload was sealed with a key id this process is not
	// configured with (a key removed too early, or another deployment's payload).
	ErrUnknownKey = errors.New("payload key not configured")
	// ErrCorruptPayload: the payload does not open under its key (altered, truncated,
	// or sealed under another key with the same id).
	ErrCorruptPayload = errors.New("encrypted payload does not open")
)

// sealVersion is the first byte of every sealed payload's data, so that a later
// format can be told apart from this one.
const sealVersion byte = 1

const (
	saltSize  = 16
	nonceSize = 12
)

// Codec is the converter.PayloadCodec that encrypts every payload payflow writes to
// Temporal with AES-256-GCM, so that Temporal's database (and `temporal workflow
// show`) holds no amount, card token or bank account in clear.
//
// Each payload is sealed under its own key, derived with HKDF-SHA256 from the
// configured key and a random salt, with a random nonce: at payflow's volume (up to
// billions of payloads per key) random 96-bit GCM nonces under one key would
// approach the 2^32 messages after which a repeated nonce becomes a real risk; a
// fresh key per payload removes that limit without a key rotation schedule.
//
// The sealed data is: version (1 byte) | salt (16) | nonce (12) | ciphertext and tag
// of the whole original payload (its metadata too), with the key id as associated
// data, so that a payload relabelled with another key id does not open.
type Codec struct {
	current string
	keys    map[string][]byte
}

var _ converter.PayloadCodec = (*Codec)(nil)

// NewCodec returns a codec over keys: the first seals new payloads, every one opens
// the payloads it sealed.
func NewCodec(keys []config.PayloadKey) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("payload codec: at least one key is required")
	}
	c := &Codec{current: keys[0].ID, keys: make(map[string][]byte, len(keys))}
	for _, k := range keys {
		if len(k.Key) != 32 {
			return nil, fmt.Errorf("payload codec: key %q must be 32 bytes, got %d", k.ID, len(k.Key))
		}
		if k.ID == "" {
			return nil, errors.New("payload codec: a key has no id")
		}
		if _, dup := c.keys[k.ID]; dup {
			return nil, fmt.Errorf("payload codec: key id %q appears twice", k.ID)
		}
		c.keys[k.ID] = append([]byte(nil), k.Key...)
	}
	return c, nil
}

// CurrentKeyID is the id of the key that seals new payloads.
func (c *Codec) CurrentKeyID() string { return c.current }

// Encode seals every payload under the current key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, taskFailure(fmt.Errorf("marshal payload: %w", err))
		}
		data, err := c.seal(c.current, plain)
		if err != nil {
			return payloads, taskFailure(err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.current),
			},
			Data: data,
		}
	}
	return out, nil
}

// Decode opens every sealed payload and passes any other through unchanged: the
// histories recorded before encryption (and their replays) keep working.
//
// A payload that does not open fails the workflow task, not the workflow: a key
// missing from one process's configuration must stall a money flow until it is
// configured, never end it.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != EncodingEncrypted {
			out[i] = p
			continue
		}
		keyID := string(p.GetMetadata()[MetadataKeyID])
		plain, err := c.open(keyID, p.GetData())
		if err != nil {
			return payloads, taskFailure(err)
		}
		var decoded commonpb.Payload
		if err := proto.Unmarshal(plain, &decoded); err != nil {
			return payloads, taskFailure(fmt.Errorf("key %q: %w", keyID, ErrCorruptPayload))
		}
		out[i] = &decoded
	}
	return out, nil
}

// taskFailure asks the SDK to fail (and retry) the workflow task rather than the
// workflow when the codec fails while a worker processes one.
func taskFailure(err error) error { return converter.NewWorkflowTaskFailureError(err) }

func (c *Codec) seal(keyID string, plain []byte) ([]byte, error) {
	var head [1 + saltSize + nonceSize]byte
	head[0] = sealVersion
	if _, err := rand.Read(head[1:]); err != nil {
		return nil, fmt.Errorf("random salt: %w", err)
	}
	aead, err := c.aead(keyID, head[1:1+saltSize])
	if err != nil {
		return nil, err
	}
	nonce := head[1+saltSize:]
	out := make([]byte, 0, len(head)+len(plain)+aead.Overhead())
	out = append(out, head[:]...)
	return aead.Seal(out, nonce, plain, []byte(keyID)), nil
}

func (c *Codec) open(keyID string, data []byte) ([]byte, error) {
	if _, ok := c.keys[keyID]; !ok {
		return nil, fmt.Errorf("key %q: %w", keyID, ErrUnknownKey)
	}
	if len(data) < 1+saltSize+nonceSize || data[0] != sealVersion {
		return nil, fmt.Errorf("key %q: %w", keyID, ErrCorruptPayload)
	}
	aead, err := c.aead(keyID, data[1:1+saltSize])
	if err != nil {
		return nil, err
	}
	nonce := data[1+saltSize : 1+saltSize+nonceSize]
	plain, err := aead.Open(nil, nonce, data[1+saltSize+nonceSize:], []byte(keyID))
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", keyID, ErrCorruptPayload)
	}
	return plain, nil
}

// aead derives the payload's own AES-256-GCM key from the configured key and salt.
func (c *Codec) aead(keyID string, salt []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, c.keys[keyID], salt, "payflow payload v1 "+keyID, 32)
	if err != nil {
		return nil, fmt.Errorf("derive payload key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// NewDataConverter is the SDK's default data converter with every payload sealed by
// codec: what every Temporal client payflow makes (worker, API, replayer) uses.
func NewDataConverter(codec converter.PayloadCodec) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec)
}

// NewFailureConverter encodes failure messages and stack traces with dc, so that an
// error message that names an amount or a reference is no more in clear in the
// history than the payloads are.
func NewFailureConverter(dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: true,
	})
}
