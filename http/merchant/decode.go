package merchant

import "github.com/payflow/payflow/http/decode"

// decodeStrict decodes one JSON object into dst: unknown (or differently cased),
// duplicate and null fields, trailing data, malformations and wrong types are all
// errors, worded for a client.
func decodeStrict(body []byte, dst any) error {
	return decode.Strict(body, dst)
}
