package sync_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"syscall"
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
// allocs/op, which the host's noise does not move, and cpu-ns/op (the
// process's CPU time, user and system, per request: the request path, the
// writer and its fdatasyncs, the runtime; not comparable with ns/op, which
// is wall time and bound by commit latency). The requests are built before
// the timer starts, so their cost is not counted.
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
	type prebuilt struct {
		body []byte
		hdr  http.Header
	}
	reqs := make([]prebuilt, b.N)
	for i := range reqs {
		body := bytes.Replace(hemnet.Sample(fmt.Sprintf("bench-%012d", i)),
			[]byte("I am interested in this property"), msg, 1)
		hdr := http.Header{"Content-Type": {"application/json"}}
		for k, v := range signed(body) {
			hdr.Set(k, v)
		}
		reqs[i] = prebuilt{body, hdr}
	}
	var seq atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	cpu0, user0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p := &reqs[seq.Add(1)-1]
			req := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/webhooks/hemnet"},
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: p.hdr, Host: "leadsync",
				Body: io.NopCloser(bytes.NewReader(p.body)), ContentLength: int64(len(p.body)),
				RemoteAddr: "127.0.0.1:1234", RequestURI: "/webhooks/hemnet"}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Errorf("answer %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.StopTimer()
	cpu, user := processCPU()
	b.ReportMetric(float64(cpu-cpu0)/float64(b.N), "cpu-ns/op")
	// User time alone leaves out the kernel's share of the fdatasyncs,
	// which swings with the host's disk: it shows a change in the code's
	// own CPU more steadily.
	b.ReportMetric(float64(user-user0)/float64(b.N), "user-ns/op")
}

// processCPU is the CPU time (user + system, and user alone) this process
// has used, in ns.
func processCPU() (total, user int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), ru.Utime.Nano()
}
