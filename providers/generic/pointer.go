package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Pointer is a parsed JSON pointer (RFC 6901), such as /data/user/email.
// The zero Pointer is the empty pointer "", which refers to the whole
// document.
type Pointer struct {
	raw    string
	tokens []string
}

// ParsePointer parses s as a JSON pointer: empty (the whole document), or a
// sequence of "/"-prefixed reference tokens in which "~" appears only as
// "~0" (a literal ~) or "~1" (a literal /). Anything else is an error that
// quotes s.
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if s[0] != '/' {
		return Pointer{}, fmt.Errorf("JSON pointer %q must start with /", s)
	}
	parts := strings.Split(s[1:], "/")
	for i, p := range parts {
		t, err := unescapeToken(p)
		if err != nil {
			return Pointer{}, fmt.Errorf("JSON pointer %q: %w", s, err)
		}
		parts[i] = t
	}
	return Pointer{raw: s, tokens: parts}, nil
}

// unescapeToken decodes ~1 to / and ~0 to ~, in that order of precedence as
// RFC 6901 requires: "~01" is the literal "~1", not "/".
func unescapeToken(t string) (string, error) {
	if !strings.Contains(t, "~") {
		return t, nil
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] != '~' {
			b.WriteByte(t[i])
			continue
		}
		if i+1 >= len(t) || (t[i+1] != '0' && t[i+1] != '1') {
			return "", errors.New("~ must be followed by 0 or 1")
		}
		if t[i+1] == '0' {
			b.WriteByte('~')
		} else {
			b.WriteByte('/')
		}
		i++
	}
	return b.String(), nil
}

// escapeToken is the inverse of unescapeToken.
func escapeToken(t string) string {
	return strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
}

// PointerFrom builds the pointer whose unescaped reference tokens are tokens.
func PointerFrom(tokens ...string) Pointer {
	if len(tokens) == 0 {
		return Pointer{}
	}
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escapeToken(t))
	}
	return Pointer{raw: b.String(), tokens: append([]string(nil), tokens...)}
}

// String returns the pointer as written, e.g. "/a~1b/0".
func (p Pointer) String() string { return p.raw }

// Tokens returns the unescaped reference tokens; empty for the whole
// document.
func (p Pointer) Tokens() []string { return append([]string(nil), p.tokens...) }

// IsRoot reports whether p is the empty pointer, the whole document.
func (p Pointer) IsRoot() bool { return len(p.tokens) == 0 }

// Lookup evaluates p against doc, a value as encoding/json decodes JSON into
// an any (map[string]any, []any, string, json.Number or float64, bool, nil).
// It reports false when p refers to nothing: a missing member, an index out
// of range or not of the RFC 6901 form (digits, no leading zero), "-" (the
// element after the last), or a token applied to a string, number, boolean
// or null. A member whose value is null is found, and returned as nil.
func (p Pointer) Lookup(doc any) (any, bool) {
	return lookup(doc, p.tokens)
}

func lookup(v any, tokens []string) (any, bool) {
	for _, t := range tokens {
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[t]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, ok := arrayIndex(t)
			if !ok || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// arrayIndex parses an array reference token: "0", or digits without a
// leading zero. Values too large for an int are simply out of range.
func arrayIndex(t string) (int, bool) {
	if t == "" || len(t) > 1 && t[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(t)
	return n, err == nil
}

// decodeJSON decodes one JSON value with numbers kept as json.Number, so
// that ids are copied digit for digit and prices are not rounded before
// they are converted on purpose. Trailing data after the value is an error.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(b[d.InputOffset():], " \t\r\n")) > 0 {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}
