package decode

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Nullable is a field that is absent, null or a value: the one kind of field Strict
// lets be null, for a request where null means something of its own (an update that
// clears a setting, where absent keeps it).
type Nullable[T any] struct {
	// Set: the field was in the body; Null: it was null (Value is then T's zero).
	Set, Null bool
	Value     T
}

// UnmarshalJSON reads null or a T.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	var zero T
	n.Set, n.Null, n.Value = true, string(b) == "null", zero
	if n.Null {
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// Ptr is the value as a pointer: nil when null (or absent).
func (n Nullable[T]) Ptr() *T {
	if !n.Set || n.Null {
		return nil
	}
	v := n.Value
	return &v
}

func (*Nullable[T]) valueType() reflect.Type { return reflect.TypeFor[T]() }

// nullable is what Strict recognises a Nullable by.
type nullable interface{ valueType() reflect.Type }

var nullableType = reflect.TypeFor[nullable]()

// nullableValue answers the value type of t when t is a Nullable.
func nullableValue(t reflect.Type) (reflect.Type, bool) {
	t = deref(t)
	if t == nil || !reflect.PointerTo(t).Implements(nullableType) {
		return nil, false
	}
	return reflect.New(t).Interface().(nullable).valueType(), true
}

// checkNullable checks the token read for a Nullable field: null, or a scalar that is
// a valid value of its type (a Nullable holds scalars only).
func checkNullable(tok json.Token, vt reflect.Type, name string) error {
	if tok == nil {
		return nil
	}
	if _, delim := tok.(json.Delim); !delim {
		raw, err := json.Marshal(tok)
		if err == nil && json.Unmarshal(raw, reflect.New(vt).Interface()) == nil {
			return nil
		}
	}
	return fmt.Errorf("field %q must be %s or null", name, kind(vt))
}
