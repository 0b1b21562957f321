package sync_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/logging"
)

// BenchmarkWebhook posts unique signed Hemnet contacts (~1.2 KB, as
// leadsync-bench sends) to the engine's handler from many goroutines, with
// a real store (fsync on) and the daemon's JSON log at info level written
// to io.Discard: the request path of intake without the network. Compare
// allocs/op, which the host's noise does not move, and CPU per op.
func BenchmarkWebhook(b *testing.B) {
	st, _ := statetest.Open(b, state.Options{})
	src, err := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{hemnetKey}, MaxClockSkew: 10 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	log, _ := logging.New(logging.Options{Level: "info", Format: "json", Redact: true, Out: io.Discard})
	e, err := lsync.New(lsync.Options{Store: st, Sources: []lsync.SourceSpec{{Source: src}}, MaxBody: 64 << 10, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	h := e.Handler()
	msg := bytes.Repeat([]byte("I would like to book a viewing. "), 25)
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bytes.Replace(hemnet.Sample(fmt.Sprintf("bench-%012d", seq.Add(1))),
				[]byte("I am interested in this property"), msg, 1)
			req := httptest.NewRequest(http.MethodPost, "/webhooks/hemnet", bytes.NewReader(body))
			for k, v := range signed(body) {
				req.Header.Set(k, v)
			}
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "127.0.0.1:1234"
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Errorf("answer %d: %s", w.Code, w.Body)
				return
			}
		}
	})
}
