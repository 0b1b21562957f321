package state

import (
	"bytes"
	"encoding/json"
	"strings"
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

// The encoders size their buffer for the record: a typical raw request and
// event record are written in one allocation.
func TestEncodersAllocateOnce(t *testing.T) {
	raw := &RawRequest{Source: "hemnet", RequestID: "req-0123456789abcdef", RemoteIP: "203.0.113.7",
		Header: map[string]string{"Content-Type": "application/json", "X-Request-Id": "req-0123456789abcdef",
			"X-Timestamp": "1763812345678", "User-Agent": "Hemnet-Webhooks/1.0"},
		Body: bytes.Repeat([]byte("x"), 1200), Received: 1763812345678000000}
	if n := testing.AllocsPerRun(20, func() { encodeRaw(raw) }); n > 3 { // the buffer, the sorted header names, the nesting
		t.Errorf("encodeRaw: %v allocations", n)
	}
	ev := &eventRecord{EventID: "ev_0123456789abcdefghijklmn", Source: "hemnet", Status: "accepted",
		LeadID: "ld_0123456789abcdefghijklmn", Key: "hemnet:contact:c7bc3070-fca2-4ccc-a705-c0b275fdf0a1",
		Raw: bytes.Repeat([]byte{1}, 16), Received: 1763812345678000000, Via: "webhook",
		Sinks: []string{"crm-webhook", "archive"}, Lead: []byte(`{"lead":"` + strings.Repeat("y", 1300) + `"}`)}
	if n := testing.AllocsPerRun(20, func() { ev.encode() }); n > 1 {
		t.Errorf("eventRecord.encode: %v allocations", n)
	}
}
