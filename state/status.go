package state

import (
	"bytes"
	"encoding/binary"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SourceStats counts the events a source committed, by status.
type SourceStats struct {
	Name      string           `json:"name"`
	Counts    map[string]int64 `json:"counts"`
	LastEvent time.Time        `json:"last_event"`
}

// SinkStats describes a sink's queue.
type SinkStats struct {
	Name          string    `json:"name"`
	Pending       int       `json:"pending"`
	Dead          int       `json:"dead"`
	OldestPending time.Time `json:"oldest_pending"` // zero when nothing is pending
	NextDue       time.Time `json:"next_due"`
}

// Sources returns the per-source counters, sorted by name.
func (s *Store) Sources() ([]SourceStats, error) {
	by := map[string]*SourceStats{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bStats).ForEach(func(k, v []byte) error {
			name, what, ok := strings.Cut(string(k), "\x00")
			if !ok || len(v) != 8 {
				return nil
			}
			st := by[name]
			if st == nil {
				st = &SourceStats{Name: name, Counts: map[string]int64{}}
				by[name] = st
			}
			n := binary.BigEndian.Uint64(v)
			if what == "last" {
				st.LastEvent = time.Unix(0, int64(n))
			} else {
				st.Counts[what] = int64(n)
			}
			return nil
		})
	})
	out := make([]SourceStats, 0, len(by))
	for _, st := range by {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Sinks returns the queue of every sink that has an outbox, sorted by name.
// It looks at every pending entry to find the oldest (entries are ordered
// by due time, and a retried one keeps its first enqueue time), but reads
// only that number from each, not the whole entry: /metrics calls it on
// every scrape, with maybe 100k entries queued behind a sink that is down.
func (s *Store) Sinks() ([]SinkStats, error) {
	var out []SinkStats
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			n, ok := bytes.CutPrefix(name, []byte("outbox/"))
			if !ok {
				return nil
			}
			st := SinkStats{Name: string(n)}
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if st.Pending == 0 {
					st.NextDue = time.Unix(0, int64(binary.BigEndian.Uint64(k[:8])))
				}
				st.Pending++
				if ns, ok := createdOf(v); ok {
					if c := time.Unix(0, ns); st.OldestPending.IsZero() || c.Before(st.OldestPending) {
						st.OldestPending = c
					}
				}
			}
			if d := tx.Bucket(deadBucket(st.Name)); d != nil {
				st.Dead = d.Stats().KeyN
			}
			out = append(out, st)
			return nil
		})
	})
	return out, err
}

// createdOf reads an outbox entry's "created" (Unix ns) without decoding
// the rest. `"created":` cannot occur inside the JSON strings before it
// (their quotes are escaped), and the lead JSON comes last.
func createdOf(v []byte) (int64, bool) {
	const key = `"created":`
	v, _, _ = splitLead(v)
	i := bytes.Index(v, []byte(key))
	if i < 0 {
		return 0, false
	}
	v = v[i+len(key):]
	end := 0
	for end < len(v) && (v[end] == '-' || v[end] >= '0' && v[end] <= '9') {
		end++
	}
	n, err := strconv.ParseInt(string(v[:end]), 10, 64)
	return n, err == nil
}
