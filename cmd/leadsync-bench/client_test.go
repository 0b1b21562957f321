package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sync/lead"
)

// TestRawConnSendsValidUniqueSignedWebhooks holds the load generator to what
// the daemon accepts, checked by the daemon's own Hemnet verifier and parser
// (anything else the bench would count as errors): a valid signature over
// the body as sent, a timestamp inside the window, a body that maps to a
// lead, a new contact each time; and it reads answers of any status, and
// ones after which the server closes.
func TestRawConnSendsValidUniqueSignedWebhooks(t *testing.T) {
	src, err := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{[]byte(benchKey)}, MaxClockSkew: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		req := &providers.Request{Source: "hemnet", Body: body, Header: r.Header, ReceivedAt: time.Now()}
		if err := src.Verify(r.Context(), req); err != nil {
			t.Errorf("verify: %v", err)
		}
		evs, err := src.Parse(req)
		if err != nil || len(evs) != 1 || evs[0].Status != lead.StatusAccepted {
			t.Errorf("parse: %v, %+v", err, evs)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/webhooks/hemnet" {
			t.Errorf("got %s %s", r.Header.Get("Content-Type"), r.URL.Path)
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[evs[0].Key] {
			t.Errorf("event %q sent twice", evs[0].Key)
		}
		seen[evs[0].Key] = true
		n++
		switch n % 10 {
		case 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 7:
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte(`{"status":"accepted"}`))
	}))
	defer srv.Close()
	c, err := newRawConn(srv.URL + "/webhooks/hemnet")
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for i := int64(1); i <= 30; i++ {
		code, err := c.post(i)
		want := 200
		if i%10 == 3 {
			want = 503
		}
		if err != nil && !(i%10 == 7 && errors.Is(err, errClosing)) {
			t.Fatalf("post %d: %v", i, err)
		}
		if code != want {
			t.Fatalf("post %d: answer %d, want %d", i, code, want)
		}
	}
	if len(seen) != 30 {
		t.Fatalf("server saw %d distinct contacts, want 30", len(seen))
	}
}
