package loadtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// decodeJSON decodes an answer, keeping numbers as they were written.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// lookup follows a dotted path (scores.fraud, items.0.id) into a decoded
// answer: a segment names an object's key, or an array's index.
func lookup(doc any, path string) (any, bool) {
	cur := doc
	for seg := range strings.SplitSeq(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) || strconv.Itoa(i) != seg {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// checkField checks one expected field of a decoded answer and says how it
// differs, or returns "".
func checkField(doc any, path, want string) string {
	got, ok := lookup(doc, path)
	if !ok {
		return fmt.Sprintf("field %s missing", path)
	}
	if want == "" {
		return ""
	}
	gotText := jsonText(got)
	wantValue, err := decodeJSON([]byte(want))
	if err != nil {
		// Not JSON: the bare text of a string, as a YAML author writes it.
		if s, isString := got.(string); isString && s == want {
			return ""
		}
		return fmt.Sprintf("field %s is %s, expected %s", path, clip(gotText, 128), strconv.Quote(want))
	}
	if !sameJSON(got, wantValue) {
		return fmt.Sprintf("field %s is %s, expected %s", path, clip(gotText, 128), clip(jsonText(wantValue), 128))
	}
	return ""
}

// jsonText is a decoded value written back as compact JSON.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sameJSON compares decoded values: numbers by value (1 equals 1.0), objects
// whatever their key order.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && sameNumber(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameJSON(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	default: // string, bool, nil
		return a == b
	}
}

// sameNumber compares two JSON numbers by value: integers exactly, others as
// float64.
func sameNumber(a, b json.Number) bool {
	if a == b {
		return true
	}
	if x, err := a.Int64(); err == nil {
		if y, err := b.Int64(); err == nil {
			return x == y
		}
	}
	x, errx := a.Float64()
	y, erry := b.Float64()
	return errx == nil && erry == nil && x == y
}
