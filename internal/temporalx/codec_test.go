package temporalx_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/models"
)

func key(id string, b byte) config.PayloadKey {
	return config.PayloadKey{ID: id, Key: bytes.Repeat([]byte{b}, 32)}
}

func newCodec(t *testing.T, keys ...config.PayloadKey) *temporalx.Codec {
	t.Helper()
	c, err := temporalx.NewCodec(keys)
	require.NoError(t, err)
	return c
}

var input = models.PaymentInput{
	PaymentID: "pay_01", MerchantID: "mch_demo", Amount: 864209731, Currency: "CNY",
	Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim",
}

// The amount and the card token are nowhere in the sealed payload; the data
// converter gives the input back.
func TestCodecRoundTrip(t *testing.T) {
	dc := temporalx.NewDataConverter(newCodec(t, key("k1", 1)))
	p, err := dc.ToPayload(input)
	require.NoError(t, err)
	require.Equal(t, temporalx.EncodingEncrypted, string(p.Metadata[converter.MetadataEncoding]))
	require.Equal(t, "k1", string(p.Metadata[temporalx.MetadataKeyID]))
	raw, err := proto.Marshal(p)
	require.NoError(t, err)
	for _, clear := range []string{"864209731", "tok_success", "json/plain", "pay_01"} {
		require.NotContains(t, string(raw), clear)
	}
	var got models.PaymentInput
	require.NoError(t, dc.FromPayload(p, &got))
	require.Equal(t, input, got)

	// Two seals of one value differ (fresh salt and nonce).
	p2, err := dc.ToPayload(input)
	require.NoError(t, err)
	require.NotEqual(t, p.Data, p2.Data)
}

// A payload sealed under the old key opens after a new key is put first; new
// payloads are sealed under the new one.
func TestCodecRotation(t *testing.T) {
	old := newCodec(t, key("2025-01", 1))
	sealed, err := old.Encode([]*commonpb.Payload{plain(t, input)})
	require.NoError(t, err)

	rotated := newCodec(t, key("2026-01", 2), key("2025-01", 1))
	require.Equal(t, "2026-01", rotated.CurrentKeyID())
	opened, err := rotated.Decode(sealed)
	require.NoError(t, err)
	require.True(t, proto.Equal(plain(t, input), opened[0]))

	fresh, err := rotated.Encode([]*commonpb.Payload{plain(t, input)})
	require.NoError(t, err)
	require.Equal(t, "2026-01", string(fresh[0].Metadata[temporalx.MetadataKeyID]))
	// The old deployment cannot open what the new key sealed: roll the new key out
	// to every process (as a second key) before making it the first.
	_, err = old.Decode(fresh)
	require.ErrorIs(t, err, temporalx.ErrUnknownKey)
}

func TestCodecRefusals(t *testing.T) {
	c := newCodec(t, key("k1", 1), key("k2", 2))
	sealedOne := func() *commonpb.Payload {
		out, err := c.Encode([]*commonpb.Payload{plain(t, input)})
		require.NoError(t, err)
		return out[0]
	}
	tests := []struct {
		name   string
		mutate func(p *commonpb.Payload)
		want   error
	}{
		{"unknown key id", func(p *commonpb.Payload) { p.Metadata[temporalx.MetadataKeyID] = []byte("k9") }, temporalx.ErrUnknownKey},
		{"no key id", func(p *commonpb.Payload) { delete(p.Metadata, temporalx.MetadataKeyID) }, temporalx.ErrUnknownKey},
		{"tampered ciphertext", func(p *commonpb.Payload) { p.Data[len(p.Data)-20] ^= 1 }, temporalx.ErrCorruptPayload},
		{"tampered salt", func(p *commonpb.Payload) { p.Data[3] ^= 1 }, temporalx.ErrCorruptPayload},
		{"truncated", func(p *commonpb.Payload) { p.Data = p.Data[:20] }, temporalx.ErrCorruptPayload},
		{"relabelled with another configured key", func(p *commonpb.Payload) { p.Metadata[temporalx.MetadataKeyID] = []byte("k2") }, temporalx.ErrCorruptPayload},
		{"unknown format version", func(p *commonpb.Payload) { p.Data[0] = 9 }, temporalx.ErrCorruptPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := sealedOne()
			tc.mutate(p)
			_, err := c.Decode([]*commonpb.Payload{p})
			require.ErrorIs(t, err, tc.want)
			var taskFailure *converter.WorkflowTaskFailureError
			require.ErrorAs(t, err, &taskFailure, "a worker retries the task instead of failing the flow")
		})
	}
}

// Payloads written before encryption (the recorded histories, flows started by an
// older release) pass through Decode unchanged.
func TestCodecPassesUnencryptedPayloadsThrough(t *testing.T) {
	c := newCodec(t, key("k1", 1))
	in := []*commonpb.Payload{plain(t, input), plain(t, nil), plain(t, []byte("raw"))}
	out, err := c.Decode(in)
	require.NoError(t, err)
	require.Len(t, out, len(in))
	for i := range in {
		require.True(t, proto.Equal(in[i], out[i]))
	}
	var got models.PaymentInput
	require.NoError(t, temporalx.NewDataConverter(c).FromPayload(in[0], &got))
	require.Equal(t, input, got)
}

func TestNewCodecRefusesBadKeys(t *testing.T) {
	for name, keys := range map[string][]config.PayloadKey{
		"none":      nil,
		"short key": {{ID: "k1", Key: []byte("short")}},
		"no id":     {{ID: "", Key: bytes.Repeat([]byte{1}, 32)}},
		"duplicate": {key("k1", 1), key("k1", 2)},
	} {
		_, err := temporalx.NewCodec(keys)
		require.Error(t, err, name)
	}
}

// Failure messages (which may name an amount or a reference) are sealed like
// payloads, and come back whole on the other side.
func TestFailureMessagesAreEncrypted(t *testing.T) {
	dc := temporalx.NewDataConverter(newCodec(t, key("k1", 1)))
	fc := temporalx.NewFailureConverter(dc)
	f := fc.ErrorToFailure(temporal.NewNonRetryableApplicationError("charge pay_01 of 864209731 with tok_success refused", "card_declined", nil))
	raw, err := proto.Marshal(f)
	require.NoError(t, err)
	require.NotContains(t, string(raw), "864209731")
	require.NotContains(t, string(raw), "tok_success")
	require.Equal(t, temporalx.EncodingEncrypted, string(f.EncodedAttributes.Metadata[converter.MetadataEncoding]))
	require.Equal(t, "card_declined", f.GetApplicationFailureInfo().GetType(), "the type stays readable: workflows branch on it")

	err = fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.Equal(t, "charge pay_01 of 864209731 with tok_success refused", appErr.Message())
	require.Equal(t, "card_declined", appErr.Type())
}

func plain(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func BenchmarkCodecEncodeDecode(b *testing.B) {
	c, err := temporalx.NewCodec([]config.PayloadKey{key("k1", 1)})
	require.NoError(b, err)
	p, err := converter.GetDefaultDataConverter().ToPayload(input)
	require.NoError(b, err)
	in := []*commonpb.Payload{p}
	b.ReportAllocs()
	for b.Loop() {
		out, err := c.Encode(in)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Decode(out); err != nil {
			b.Fatal(err)
		}
	}
}
