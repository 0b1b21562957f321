package state

import (
	"bytes"
	"encoding/json"
	"testing"
)

var awkward = []string{"", "plain", `q"uote\back`, "line\nbreak\ttab\r\b\f\x00\x1f", "<a href>&amp;",
	"åäö ü ✓ 😀", "\u2028\u2029", "bad\xffutf8\xc3", `,"lead":{"x":1}`, `"created":5`}

// The hand-written encoders must write exactly what json.Marshal writes, so
// records stay readable by anything that reads them as JSON.
func TestHandEncodingMatchesJSON(t *testing.T) {
	lead := json.RawMessage(`{"schema":"leadsync.lead/v1","person":{"email":"a,\"lead\":b"}}`)
	check := func(name string, v interface{ encode() ([]byte, error) }, plain any) {
		t.Helper()
		got, err := v.encode()
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n hand %s\n json %s", name, got, want)
		}
	}
	for i, s := range awkward {
		n := int64(i) * 1_713_004_756_000_000_123 % 9_000_000_000_000_000_000
		d := dedupeRecord{EventID: "ev_" + s, Status: s, LeadID: s, Received: n, EventKey: []byte(s)}
		check("dedupe", &d, d)
		v := versionRecord{Version: -n, EventID: s}
		check("version", &v, v)
		type plainEvent eventRecord // no encode method: json.Marshal's own answer
		er := eventRecord{EventID: s, Source: s, Status: s, Reason: s, LeadID: s, Key: s, Raw: []byte(s), Received: n,
			Via: s, VK: s}
		if i%2 == 0 {
			er.Sinks, er.Lead = []string{s, "b"}, lead
		}
		check("event", &er, plainEvent(er))
		type plainEntry Entry
		e := Entry{ID: s, LeadID: s, EventID: s, Attempt: i, Created: n, LastError: s, LastStatus: i * 100}
		if i%2 == 0 {
			e.Lead = lead
		} else {
			e.Ref = []byte(s)
		}
		check("entry", &e, plainEntry(e))
	}
}

func TestRawMetaMatchesJSON(t *testing.T) {
	for _, s := range awkward {
		r := RawRequest{Source: s, RequestID: s, RemoteIP: s, Received: -7,
			Header: map[string]string{s: s, "x-b": "1", "x-a&<": s, "content-type": "application/json"}, Body: []byte(s)}
		v, err := encodeRaw(&r)
		if err != nil {
			t.Fatal(err)
		}
		c := r
		c.Body = nil
		want, _ := json.Marshal(&c)
		if got := v[:bytes.IndexByte(v, '\n')]; !bytes.Equal(got, want) {
			t.Errorf("\n hand %s\n json %s", got, want)
		}
	}
	v, _ := encodeRaw(&RawRequest{Source: "x"})
	if want, _ := json.Marshal(&RawRequest{Source: "x"}); !bytes.Equal(v[:len(v)-1], want) {
		t.Errorf("empty: %s vs %s", v, want)
	}
}
