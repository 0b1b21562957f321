package generic

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// rfcDoc is the example document of RFC 6901 section 5.
const rfcDoc = `{
  "foo": ["bar", "baz"],
  "": 0,
  "a/b": 1,
  "c%d": 2,
  "e^f": 3,
  "g|h": 4,
  "i\\j": 5,
  "k\"l": 6,
  " ": 7,
  "m~n": 8
}`

// TestPointerRFCExamples evaluates every pointer of RFC 6901 section 5.
func TestPointerRFCExamples(t *testing.T) {
	doc, err := decodeJSON([]byte(rfcDoc))
	if err != nil {
		t.Fatal(err)
	}
	for ptr, want := range map[string]string{
		"":       "", // the whole document, checked below
		"/foo":   `["bar","baz"]`,
		"/foo/0": `"bar"`,
		"/":      `0`,
		"/a~1b":  `1`,
		"/c%d":   `2`,
		"/e^f":   `3`,
		"/g|h":   `4`,
		`/i\j`:   `5`,
		`/k"l`:   `6`,
		"/ ":     `7`,
		"/m~0n":  `8`,
	} {
		p, err := ParsePointer(ptr)
		if err != nil {
			t.Fatalf("ParsePointer(%q): %v", ptr, err)
		}
		v, ok := p.Lookup(doc)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", ptr)
			continue
		}
		got, _ := json.Marshal(v)
		if ptr == "" {
			if _, isMap := v.(map[string]any); !isMap {
				t.Errorf(`Lookup("") = %s, want the document`, got)
			}
			continue
		}
		if string(got) != want {
			t.Errorf("Lookup(%q) = %s, want %s", ptr, got, want)
		}
		if p.String() != ptr {
			t.Errorf("String() = %q, want %q", p.String(), ptr)
		}
	}
}

func TestPointerNotFound(t *testing.T) {
	doc, _ := decodeJSON([]byte(`{"a":[10,{"b":null}],"s":"str","n":1,"t":true,"z":null}`))
	for _, ptr := range []string{
		"/x", "/a/2", "/a/-", "/a/01", "/a/-1", "/a/+1", "/a/1e0", "/a/ 0", "/a/99999999999999999999",
		"/s/0", "/n/x", "/t/x", "/z/x", "/a/1/b/c", "/A",
	} {
		p, err := ParsePointer(ptr)
		if err != nil {
			t.Fatalf("ParsePointer(%q): %v", ptr, err)
		}
		if v, ok := p.Lookup(doc); ok {
			t.Errorf("Lookup(%q) = %v, want nothing", ptr, v)
		}
	}
	for ptr, want := range map[string]any{"/a/1/b": nil, "/z": nil, "/a/0": json.Number("10")} {
		p, _ := ParsePointer(ptr)
		if v, ok := p.Lookup(doc); !ok || v != want {
			t.Errorf("Lookup(%q) = %v, %v; want %v, true", ptr, v, ok, want)
		}
	}
}

func TestParsePointerErrors(t *testing.T) {
	for _, ptr := range []string{"a", "a/b", "#/a", "/~", "/a~", "/~2", "/a/~x", "~1"} {
		_, err := ParsePointer(ptr)
		if err == nil || !strings.Contains(err.Error(), `"`+ptr+`"`) {
			t.Errorf("ParsePointer(%q) = %v, want an error quoting it", ptr, err)
		}
	}
}

// TestPointerEscapes pins the order of unescaping: ~01 is "~1", not "/".
func TestPointerEscapes(t *testing.T) {
	for ptr, want := range map[string][]string{
		"/~01":      {"~1"},
		"/~10":      {"/0"},
		"/~0~1":     {"~/"},
		"/a//b":     {"a", "", "b"},
		"/":         {""},
		"/x/~0~0/y": {"x", "~~", "y"},
	} {
		p, err := ParsePointer(ptr)
		if err != nil || !reflect.DeepEqual(p.Tokens(), want) {
			t.Errorf("ParsePointer(%q) = %q, %v; want %q", ptr, p.Tokens(), err, want)
		}
		if back := PointerFrom(p.Tokens()...); back.String() != ptr {
			t.Errorf("PointerFrom(%q) = %q, want %q", p.Tokens(), back, ptr)
		}
	}
	if !PointerFrom().IsRoot() || PointerFrom().String() != "" {
		t.Error("PointerFrom() is not the root")
	}
}

func TestDecodeJSON(t *testing.T) {
	for body, ok := range map[string]bool{
		`{}`: true, ` {"a":1} `: true, "[1]\n": true, `"s"`: true, `12345678901234567890`: true,
		``: false, `{`: false, `{} {}`: false, `{}]`: false, `{}x`: false, `{"a":1}}`: false,
	} {
		_, err := decodeJSON([]byte(body))
		if (err == nil) != ok {
			t.Errorf("decodeJSON(%q) = %v, want ok=%v", body, err, ok)
		}
	}
	v, _ := decodeJSON([]byte(`12345678901234567890`))
	if v != json.Number("12345678901234567890") {
		t.Errorf("number decoded as %T %v, want its literal", v, v)
	}
}
