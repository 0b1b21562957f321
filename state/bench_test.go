package state_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
	"github.com/leadsync/leadsync/sync/lead"
)

// BenchmarkCommitParallel commits one new event per call from many
// goroutines, as concurrent webhooks do: the group-commit writer should
// carry many per fsync. Compare -cpu 1,2, ops per commit and the writer's
// time per commit (reported). "versioned" is an entity with versions and a
// sink (a Reapit applicant); "single" a Hemnet contact of a realistic size
// with no sink, as in leadsync-bench's intake run. On Linux it also reports
// the bytes and the write calls per op that reached the kernel (wKB/op,
// writes/op, from /proc/self/io): what each commit costs the disk, free of
// the host's noise at a given ops/commit.
func BenchmarkCommitParallel(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 633)
	header := map[string]string{"content-type": "application/json", "user-agent": "Hemnet API Client",
		"x-signature": fmt.Sprintf("%064x", 42), "x-timestamp": "1713004756000"}
	for _, c := range []struct {
		name string
		make func(k string) *state.Incoming
	}{
		{"versioned", func(k string) *state.Incoming { return incoming("hemnet", k, k, time.Time{}, "a") }},
		{"single", func(k string) *state.Incoming {
			key := "hemnet:contact:" + k
			l := &lead.Lead{Action: lead.ActionCreated, Source: lead.Source{Name: "hemnet", Provider: "hemnet"},
				Person: lead.Person{FirstName: lead.Str(string(body))}}
			ev := lead.Event{Key: key, EntityKey: key, Status: lead.StatusAccepted, Lead: l}
			ev.Finish()
			lj, _ := l.Marshal()
			return &state.Incoming{Raw: state.RawRequest{Source: "hemnet", Body: body, Header: header},
				Items: []state.Item{{Event: ev, LeadJSON: lj, Via: lead.ViaWebhook}}}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var commits, ops, took atomic.Int64
			s, _ := statetest.Open(b, state.Options{OnCommit: func(n int, d time.Duration) {
				commits.Add(1)
				ops.Add(int64(n))
				took.Add(int64(d))
			}})
			var seq atomic.Int64
			b.SetParallelism(32)
			io0 := procIO()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					in := c.make(fmt.Sprint("k", seq.Add(1)))
					in.Raw.Received = 0 // now, as intake: keys grow with time
					if _, err := s.Commit(in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			n := float64(max(commits.Load(), 1))
			b.ReportMetric(float64(ops.Load())/n, "ops/commit")
			b.ReportMetric(float64(took.Load())/n/1e6, "ms/commit")
			if io1 := procIO(); io0 != nil && io1 != nil {
				b.ReportMetric(float64(io1["wchar"]-io0["wchar"])/1024/float64(b.N), "wKB/op")
				b.ReportMetric(float64(io1["syscw"]-io0["syscw"])/float64(b.N), "writes/op")
			}
		})
	}
}

// procIO reads this process's I/O counters (Linux), or nil.
func procIO() map[string]int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return nil
	}
	m := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if n, err := strconv.ParseInt(v, 10, 64); ok && err == nil {
			m[k] = n
		}
	}
	return m
}
