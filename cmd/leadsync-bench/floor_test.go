package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestFloorStoresWhatItAcknowledges holds the durable floor to its one
// promise, the one that makes it a floor for durable intake: a request it
// answers 200 is in its bbolt file (every body, once), and one with a bad
// signature is answered 401 and not stored.
func TestFloorStoresWhatItAcknowledges(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveFloor(ctx, addr, dir) }()
	if err := waitReady("http://"+addr+"/readyz", nil); err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr + "/webhooks/hemnet"

	resp, err := http.Post(url, "application/json", strings.NewReader(`{"forged":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unsigned body: %d, want 401", resp.StatusCode)
	}

	const n = 50
	acked := 0
	for range 4 {
		c, err := newRawConn(url)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n / 4 {
			code, err := c.post(int64(1000*acked + i))
			if err != nil || code != 200 {
				t.Fatalf("post: %d %v", code, err)
			}
			acked++
		}
		c.close()
	}
	cancel()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	// serveFloor has closed its file once it returned.
	db, err := bolt.Open(filepath.Join(dir, "floor.db"), 0o600, &bolt.Options{Timeout: 5 * time.Second, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stored := map[string]bool{}
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("raw")).ForEach(func(_, v []byte) error {
			if !strings.Contains(string(v), `"type":"CONTACT"`) {
				t.Errorf("stored %q, not a webhook body", v)
			}
			stored[string(v)] = true
			return nil
		})
	})
	if len(stored) != acked {
		t.Fatalf("acknowledged %d, stored %d distinct bodies", acked, len(stored))
	}
}
