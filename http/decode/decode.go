// Package decode reads JSON request bodies strictly, the same way for the merchant and
// the ops API: exactly one JSON object whose keys are the exact (case-sensitive) names
// of the request type's fields, each at most once, none of them null (but a field of
// type Nullable), and nothing after it. Go's encoding/json alone is laxer on three
// points a client, a proxy or a WAF may read differently from us (a parser
// differential): it matches names case-insensitively ("AMOUNT" fills Amount), lets the
// last of duplicate keys win, and takes null for "absent". Every refusal is a message
// worded for a client.
package decode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// maxDepth bounds how deep a body may nest: payflow's requests nest three levels, and
// a deeper body is refused before it costs a deep recursion.
const maxDepth = 16

// Strict decodes body, which must hold exactly one JSON object, into dst, a pointer to
// a struct whose fields carry json tags.
func Strict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("the body must be a JSON object")
	}
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer {
		return errors.New("decode: dst must be a pointer")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	first, err := dec.Token()
	if err != nil {
		return describe(err)
	}
	if d, ok := first.(json.Delim); !ok || d != '{' {
		return errors.New("the body must be a JSON object")
	}
	if err := walkObject(dec, t.Elem(), "", 1); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body must hold exactly one JSON object")
	}
	// The structure is right; now the types.
	typed := json.NewDecoder(bytes.NewReader(body))
	typed.DisallowUnknownFields()
	if err := typed.Decode(dst); err != nil {
		return describe(err)
	}
	return nil
}

// walkObject checks the members of an object whose '{' was read, against type t (a
// struct, a map, or anything else, whose members are then only checked for nulls and
// duplicates).
func walkObject(dec *json.Decoder, t reflect.Type, path string, depth int) error {
	if depth > maxDepth {
		return errors.New("the body nests too deep")
	}
	t = deref(t)
	var fields map[string]reflect.Type
	structured := t != nil && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map)
	if structured && t.Kind() == reflect.Struct {
		fields = jsonFields(t)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return describe(err)
		}
		key, _ := tok.(string)
		name := join(path, key)
		if seen[key] {
			return fmt.Errorf("field %q appears twice", name)
		}
		seen[key] = true
		var ft reflect.Type
		switch {
		case !structured:
		case t.Kind() == reflect.Struct:
			var ok bool
			if ft, ok = fields[key]; !ok {
				return fmt.Errorf("unknown field %q", name)
			}
		default:
			ft = t.Elem()
		}
		if err := walkValue(dec, ft, name, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return describe(err)
}

// walkValue checks one value of type t (nil: unknown, only nulls and duplicates are
// checked below it).
func walkValue(dec *json.Decoder, t reflect.Type, name string, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return describe(err)
	}
	if vt, ok := nullableValue(t); ok {
		return checkNullable(tok, vt, name)
	}
	if tok == nil {
		return fmt.Errorf("field %q must not be null: leave it out instead", name)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: its type is checked by the typed decode
	}
	if t != nil {
		t = deref(t)
		if t == reflect.TypeOf(json.RawMessage(nil)) || t.Kind() == reflect.Interface {
			t = nil
		}
	}
	switch d {
	case '{':
		if t != nil && t.Kind() != reflect.Struct && t.Kind() != reflect.Map {
			return fmt.Errorf("field %q must be %s", name, kind(t))
		}
		return walkObject(dec, t, name, depth+1)
	case '[':
		if depth+1 > maxDepth {
			return errors.New("the body nests too deep")
		}
		if t != nil && t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return fmt.Errorf("field %q must be %s", name, kind(t))
		}
		var elem reflect.Type
		if t != nil {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := walkValue(dec, elem, fmt.Sprintf("%s[%d]", name, i), depth+1); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ']'
		return describe(err)
	}
	return errors.New("malformed JSON")
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields maps the exact json names of a struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// describe words a decoding error for a client, never echoing its input.
func describe(err error) error {
	if err == nil {
		return nil
	}
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return errors.New("the body must be a JSON object")
		}
		return fmt.Errorf("field %q must be %s", typeErr.Field, kind(typeErr.Type))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of body")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return errors.New("malformed JSON")
}

func kind(t reflect.Type) string {
	t = deref(t)
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "of another type"
}
