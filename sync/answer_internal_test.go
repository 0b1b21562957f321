package sync

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteAnswerMatchesWriteJSON(t *testing.T) {
	for _, a := range []answer{
		{Status: "accepted", EventID: "ev_1", LeadID: "ld_1"},
		{Status: "error", Reason: `body "too" <large> & more`},
		{Status: "duplicate", EventID: "ev_2"},
		{Status: "accepted", Events: []answer{{Status: "accepted", EventID: "ev_3"}, {Status: "ignored", Reason: "x"}}},
	} {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		writeAnswer(got, 200, &a)
		writeJSON(want, 200, a)
		if !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
			t.Errorf("writeAnswer %q, writeJSON %q", got.Body, want.Body)
		}
	}
}

// TestReadBodyAllocatesWhatArrives: a sender that announces a large body
// and sends a byte pins no more than bodyPrealloc until more arrives.
func TestReadBodyAllocatesWhatArrives(t *testing.T) {
	b, err := readBody(strings.NewReader("x"), 1<<20)
	if err != nil || string(b) != "x" {
		t.Fatalf("readBody = %q, %v", b, err)
	}
	if cap(b) > 2*bodyPrealloc { // the allocator rounds up to its size classes
		t.Fatalf("a 1-byte body announced as 1 MiB took a %d-byte buffer, want about %d", cap(b), bodyPrealloc)
	}
	big := strings.Repeat("y", 300<<10)
	if b, err = readBody(strings.NewReader(big), int64(len(big))); err != nil || string(b) != big {
		t.Fatalf("a 300 KiB body: %d bytes, %v", len(b), err)
	}
}
