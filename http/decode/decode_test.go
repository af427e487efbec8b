package decode_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/decode"
)

type source struct {
	Type  string  `json:"type"`
	Token *string `json:"token"`
}

type request struct {
	Amount   json.RawMessage   `json:"amount"`
	Currency *string           `json:"currency"`
	Source   *source           `json:"source"`
	Metadata map[string]string `json:"metadata"`
	Tags     []string          `json:"tags"`
}

func TestStrict(t *testing.T) {
	tests := []struct {
		name, body, err string
	}{
		{"valid", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_x"},"metadata":{"a":"b"},"tags":["x"]}`, ""},
		{"empty", ``, "the body must be a JSON object"},
		{"array", `[1]`, "the body must be a JSON object"},
		{"string", `"x"`, "the body must be a JSON object"},
		{"unknown field", `{"tip":1}`, `unknown field "tip"`},
		{"field in another case", `{"AMOUNT":1}`, `unknown field "AMOUNT"`},
		{"nested field in another case", `{"source":{"Type":"card"}}`, `unknown field "source.Type"`},
		{"duplicate field", `{"amount":1,"amount":2}`, `field "amount" appears twice`},
		{"duplicate nested field", `{"source":{"type":"card","type":"account"}}`, `field "source.type" appears twice`},
		{"duplicate metadata key", `{"metadata":{"a":"1","a":"2"}}`, `field "metadata.a" appears twice`},
		{"null field", `{"currency":null}`, `field "currency" must not be null: leave it out instead`},
		{"null metadata value", `{"metadata":{"a":null}}`, `field "metadata.a" must not be null: leave it out instead`},
		{"null in array", `{"tags":[null]}`, `field "tags[0]" must not be null: leave it out instead`},
		{"trailing object", `{}{}`, "the body must hold exactly one JSON object"},
		{"trailing garbage", `{} x`, "the body must hold exactly one JSON object"},
		{"malformed", `{"amount":1,`, "malformed JSON: unexpected end of body"},
		{"wrong type", `{"currency":156}`, `field "currency" must be a string`},
		{"object for a string", `{"currency":{"a":1}}`, `field "currency" must be a string`},
		{"array for an object", `{"source":[1]}`, `field "source" must be an object`},
		{"too deep", `{"amount":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}`, "the body nests too deep"},
		{"deep object in a raw field", `{"amount":{"a":{"b":{}}}}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r request
			err := decode.Strict([]byte(tc.body), &r)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tc.err)
		})
	}
}

// FuzzStrict: no body makes the decoder panic, and what it accepts, encoding/json
// reads the same way.
func FuzzStrict(f *testing.F) {
	for _, s := range []string{`{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_x"}}`, `{"metadata":{"a":"b"}}`, `{"AMOUNT":1}`, `[`, `{"tags":[["x"]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r request
		if err := decode.Strict(body, &r); err != nil {
			return
		}
		var again request
		if err := json.Unmarshal(body, &again); err != nil {
			t.Fatalf("Strict accepted what encoding/json refuses: %v", err)
		}
	})
}

type update struct {
	Limit decode.Nullable[int64]  `json:"limit"`
	URL   decode.Nullable[string] `json:"url"`
	Fee   *int64                  `json:"fee"`
}

// A Nullable field tells absent from null from a value; it is the only field that may
// be null, and it takes a scalar of its type only.
func TestStrictNullable(t *testing.T) {
	tests := []struct {
		name, body, err string
		limit           *int64
		set, null       bool
	}{
		{name: "absent", body: `{"fee":1}`},
		{name: "null", body: `{"limit":null}`, set: true, null: true},
		{name: "value", body: `{"limit":5000}`, set: true, limit: ptr(int64(5000))},
		{name: "zero", body: `{"limit":0}`, set: true, limit: ptr(int64(0))},
		{name: "other fields still refuse null", body: `{"limit":1,"fee":null}`, err: `field "fee" must not be null: leave it out instead`},
		{name: "string for an integer", body: `{"limit":"5000"}`, err: `field "limit" must be an integer or null`},
		{name: "fraction", body: `{"limit":1.5}`, err: `field "limit" must be an integer or null`},
		{name: "object", body: `{"limit":{"value":1}}`, err: `field "limit" must be an integer or null`},
		{name: "array", body: `{"limit":[1]}`, err: `field "limit" must be an integer or null`},
		{name: "integer for a string", body: `{"url":1}`, err: `field "url" must be a string or null`},
		{name: "duplicate", body: `{"limit":null,"limit":1}`, err: `field "limit" appears twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u update
			err := decode.Strict([]byte(tc.body), &u)
			if tc.err != "" {
				require.EqualError(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.set, u.Limit.Set)
			require.Equal(t, tc.null, u.Limit.Null)
			require.Equal(t, tc.limit, u.Limit.Ptr())
		})
	}
}

func ptr[T any](v T) *T { return &v }
