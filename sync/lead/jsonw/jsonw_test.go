package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

var awkward = []string{"", "plain", `q"uote\back`, "line\nbreak\ttab\r\b\f\x00\x1f", "<a href>&amp;",
	"åäö ü ✓ 😀", "\u2028\u2029", "bad\xffutf8\xc3", `,"lead":{"x":1}`}

func FuzzAppendString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, json.Marshal = %s", s, got, want)
		}
	})
}

func TestObjectMatchesJSON(t *testing.T) {
	type inner struct {
		A *string  `json:"a"`
		B []string `json:"b"`
	}
	type outer struct {
		S  string   `json:"s"`
		P  *string  `json:"p"`
		T  bool     `json:"t"`
		BP *bool    `json:"bp"`
		I  *int     `json:"i"`
		F  *float64 `json:"f"`
		In inner    `json:"in"`
		E  []string `json:"e"`
		Z  int64    `json:"z"`
	}
	yes, n, f := true, -42, 1e21
	for _, s := range awkward {
		for _, v := range []outer{
			{S: s, P: &s, T: true, BP: &yes, I: &n, F: &f, In: inner{A: &s, B: []string{s, s}}, E: []string{}, Z: math.MinInt64},
			{S: s},
		} {
			o := New(0)
			o.Str("s", v.S)
			o.StrPtr("p", v.P)
			o.Bool("t", v.T)
			o.BoolPtr("bp", v.BP)
			o.IntPtr("i", v.I)
			if err := o.Float64Ptr("f", v.F); err != nil {
				t.Fatal(err)
			}
			o.Begin("in")
			o.StrPtr("a", v.In.A)
			o.Strs("b", v.In.B)
			o.End()
			o.Strs("e", v.E)
			o.Int("z", v.Z)
			got := o.Done()
			want, _ := json.Marshal(v)
			if !bytes.Equal(got, want) {
				t.Errorf("\n hand %s\n json %s", got, want)
			}
		}
	}
	nan := math.NaN()
	o := New(0)
	if o.Float64Ptr("x", &nan) == nil {
		t.Error("NaN encoded")
	}
}

// BenchmarkAppendString escapes a contact message (Swedish text with a
// newline and an ampersand), the longest string in a typical lead.
func BenchmarkAppendString(b *testing.B) {
	s := strings.Repeat("Hej! Jag är intresserad av lägenheten & vill boka en visning.\n", 12)
	buf := make([]byte, 0, 2*len(s))
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
