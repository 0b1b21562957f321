package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestRawConnSendsValidUniqueSignedWebhooks holds the load generator to what
// a Hemnet webhook must be (the daemon rejects anything else, so the bench
// would count errors): a JSON body that parses, a fresh X-Timestamp, an
// X-Signature over the body as sent, a new contact id each time; and it
// reads answers of any status, and ones after which the server closes.
func TestRawConnSendsValidUniqueSignedWebhooks(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		m := hmac.New(sha256.New, []byte(benchKey))
		m.Write(body)
		if r.Header.Get("X-Signature") != hex.EncodeToString(m.Sum(nil)) {
			t.Errorf("bad signature on %s", body)
		}
		ts, _ := strconv.ParseInt(r.Header.Get("X-Timestamp"), 10, 64)
		if d := time.Since(time.UnixMilli(ts)); d < 0 || d > time.Minute {
			t.Errorf("X-Timestamp %q is %v old", r.Header.Get("X-Timestamp"), d)
		}
		if r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/webhooks/hemnet" {
			t.Errorf("got %s %s", r.Header.Get("Content-Type"), r.URL.Path)
		}
		var c struct {
			Data struct{ ID string } `json:"data"`
		}
		if err := json.Unmarshal(body, &c); err != nil {
			t.Errorf("body is not JSON: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[c.Data.ID] {
			t.Errorf("contact id %q sent twice", c.Data.ID)
		}
		seen[c.Data.ID] = true
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
