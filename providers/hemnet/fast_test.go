package hemnet

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// slowDecode is what Parse decoded every body with before the fast path:
// encoding/json into the same structs.
func slowDecode(body []byte) (*contact, bool) {
	var v struct {
		Type, Action string
		Data         *contact
	}
	if json.Unmarshal(body, &v) != nil || v.Type != typeContact || v.Action != actionCreate || v.Data == nil || v.Data.ID == "" {
		return nil, false
	}
	return v.Data, true
}

// The fast path must take the bodies Hemnet sends: the documented example
// and every golden request.
func TestFastDecodeTakesHemnetBodies(t *testing.T) {
	bodies := map[string][]byte{"sample": Sample("x-1")}
	dirs, _ := filepath.Glob("testdata/golden/*/request.json")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies[p] = b
	}
	took := 0
	for name, b := range bodies {
		want, wok := slowDecode(b)
		got, ok := decodeContactCreate(b)
		if ok != wok && wok && !strings.Contains(name, "case") {
			t.Errorf("%s: fast path declined a body encoding/json reads", name)
		}
		if ok {
			took++
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: fast %+v, encoding/json %+v", name, got, want)
			}
		}
	}
	if took < len(bodies)/2 {
		t.Fatalf("fast path took %d of %d bodies", took, len(bodies))
	}
}

// FuzzFastDecodeMatchesEncodingJSON: whenever the fast path answers, its
// answer is encoding/json's, field for field.
func FuzzFastDecodeMatchesEncodingJSON(f *testing.F) {
	f.Add(Sample("x-1"))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"x"}}`))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":12.5e3,"EMAIL":"a@b"}}`))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"x","email":"a@b","email":"c@d"}}`))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"\ud800x","message":"\u00e5\u2028"}} `))
	f.Add([]byte("{\"type\":\"CONTACT\",\"action\":\"CREATE\",\"data\":{\"id\":\"x\",\"message\":\"\xff\"}}"))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"x","listing":null,"broker":{},"x":[1,{"a":null}]}}{}`))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"\u0069d":-0.5E+3,"message":"a\ud83d\ude00\n\/\"\\\u00e5","x":{"y":[true,false,null,-0,1e5,"z"]}}}`))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"x","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`))
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"x","message":"\udc00"},"type":"CONTACT"}`))
	f.Add([]byte(" \t\r\n{\"type\":\"CONTACT\" , \"action\" :\"CREATE\",\"data\":{\"id\":7,\"preapprovedMortgage\":true,\"broker\":{\"id\":1,\"fullName\":null}}}\n"))
	golden, _ := filepath.Glob("testdata/golden/*/request.json")
	for _, p := range golden {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeContactCreate(body)
		if !ok {
			return
		}
		want, wok := slowDecode(body)
		if !wok {
			t.Fatalf("fast path read %q, encoding/json does not", body)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("body %q:\n fast %#v\n json %#v", body, got, want)
		}
	})
}

// The fast path takes what it can read exactly as encoding/json does,
// escapes and all, and declines what encoding/json reads differently from
// the bytes (replacements, merges) or deeper than it cares to go.
func TestFastDecodeTakesAndDeclines(t *testing.T) {
	take := []string{
		`{"type":"CONTACT","action":"CREATE","data":{"\u0069d":-0.5E+3,"message":"a\ud83d\ude00\n\/\"\\\u00e5","x":{"y":[true,false,null,-0,1e5,"z"]}}}`,
		" \t\r\n{\"type\":\"CONTACT\" , \"action\" :\"CREATE\",\"data\":{\"id\":7,\"preapprovedMortgage\":true,\"broker\":{\"id\":1,\"fullName\":null}}}\n",
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x","listing":null,"broker":{},"x":[1,{"a":null}]},"extra":{}}`,
	}
	decline := []string{
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x","message":"\udc00"}}`,                 // lone low surrogate
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x","message":"\ud800x"}}`,                // lone high surrogate
		"{\"type\":\"CONTACT\",\"action\":\"CREATE\",\"data\":{\"id\":\"x\",\"message\":\"\xff\"}}", // invalid UTF-8
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x","email":"a","email":"b"}}`,            // duplicate known key
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x","Email":"a"}}`,                        // case variant
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x","x":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}}`,
		`{"type":"CONTACT","action":"CREATE","data":{"id":01}}`,              // not a JSON number
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x",}}`,            // trailing comma
		`{"type":"CONTACT","action":"CREATE","data":{"id":"x"}} x`,           // trailing garbage
		`{"type":"CONTACT","action":"CREATE","data":{"id":"a` + "\n" + `"}}`, // raw control character
		`{"type":"LISTING","action":"CREATE","data":{"id":"x"}}`,
		`{"type":"CONTACT","action":"CREATE","data":null}`,
	}
	for _, b := range take {
		got, ok := decodeContactCreate([]byte(b))
		want, wok := slowDecode([]byte(b))
		if !ok || !wok || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n fast %v %+v\n json %v %+v", b, ok, got, wok, want)
		}
	}
	for _, b := range decline {
		if _, ok := decodeContactCreate([]byte(b)); ok {
			t.Errorf("fast path took %s", b)
		}
	}
}

// TestFastDecodeAllocations holds the fast path to its allocations for the
// documented body: the copy of the body its strings point into, the contact
// with everything it points at, and one escaped string. A string field
// that allocated on its own (as one did, when a slot overflow path took its
// argument's address) shows here, not only in a benchmark.
func TestFastDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	body := Sample("allocs-1")
	n := testing.AllocsPerRun(100, func() {
		if _, ok := decodeContactCreate(body); !ok {
			t.Fatal("declined")
		}
	})
	if n > 3 {
		t.Errorf("decoding the documented body makes %.0f allocations, want at most 3", n)
	}
}

// BenchmarkDecode compares the fast path with encoding/json on the
// documented example.
func BenchmarkDecode(b *testing.B) {
	body := Sample("bench-1")
	for _, c := range []struct {
		name string
		fn   func([]byte) (*contact, bool)
	}{{"fast", decodeContactCreate}, {"encoding-json", slowDecode}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, ok := c.fn(body); !ok {
					b.Fatal("declined")
				}
			}
		})
	}
}
