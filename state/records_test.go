package state

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decodeEntry must read back exactly what encode wrote, including errors
// that hold `"lead":` and quotes, and leads with any content.
func TestDecodeEntryRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		{ID: "msg_1", LeadID: "ld_1", EventID: "ev_1", Attempt: 2, Created: 7, LastError: `503: {"lead":"x"},"lead": y`,
			LastStatus: 503, Lead: json.RawMessage(`{"schema":"leadsync.lead/v1","person":{"email":"a,\"lead\":b"}}`)},
		{ID: "msg_2", LeadID: "ld_2"},
	} {
		v, err := e.encode()
		if err != nil {
			t.Fatal(err)
		}
		var got, want Entry
		if err := decodeEntry(v, &got); err != nil {
			t.Fatalf("decode %s: %v", v, err)
		}
		if err := json.Unmarshal(v, &want); err != nil {
			t.Fatalf("json.Unmarshal %s: %v", v, err)
		}
		if got.ID != want.ID || got.LastError != want.LastError || got.Attempt != want.Attempt || !bytes.Equal(got.Lead, want.Lead) {
			t.Fatalf("decodeEntry = %+v, json.Unmarshal = %+v", got, want)
		}
	}
}

func TestRawRoundTrip(t *testing.T) {
	for _, body := range [][]byte{nil, []byte("{\"a\":\"line\\nbreak\"}\n\nraw\x00bytes\xff"), []byte(`{}`)} {
		r := RawRequest{Source: "hemnet", RequestID: "r\n1", Header: map[string]string{"x-a": "b\nc"}, Body: body, Received: 42}
		v, err := encodeRaw(&r)
		if err != nil {
			t.Fatal(err)
		}
		var got RawRequest
		if err := decodeRaw(v, &got); err != nil {
			t.Fatal(err)
		}
		if got.Source != r.Source || got.RequestID != r.RequestID || got.Header["x-a"] != "b\nc" || !bytes.Equal(got.Body, r.Body) || got.Received != 42 {
			t.Fatalf("round trip of %q = %+v", body, got)
		}
	}
}

func TestCreatedOf(t *testing.T) {
	e := Entry{ID: "msg_1", Created: 1713004756000000123, LastError: `x "created":5`, Lead: json.RawMessage(`{"created":7}`)}
	v, err := e.encode()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := createdOf(v); !ok || got != e.Created {
		t.Fatalf("createdOf = %d, %v; want %d", got, ok, e.Created)
	}
}
