package state_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
)

// BenchmarkCommitParallel commits one new event per call from many
// goroutines, as concurrent webhooks do: the group-commit writer should
// carry many per fsync. Compare -cpu 1,2 and ops per commit (reported).
func BenchmarkCommitParallel(b *testing.B) {
	var commits, ops atomic.Int64
	s, _ := statetest.Open(b, state.Options{OnCommit: func(n int, _ time.Duration) {
		commits.Add(1)
		ops.Add(int64(n))
	}})
	var seq atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := fmt.Sprint("k", seq.Add(1))
			if _, err := s.Commit(incoming("hemnet", k, k, time.Time{}, "a")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(ops.Load())/float64(max(commits.Load(), 1)), "ops/commit")
}
