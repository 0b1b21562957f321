package sync

import (
	"bytes"
	"net/http/httptest"
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
