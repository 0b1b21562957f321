package state

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"sync"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
	bolt "go.etcd.io/bbolt"
)

// The dedupe bucket is keyed by received time and id (received(8) + id), so
// that every commit appends to its end like the events and raw buckets do.
// Keyed by id alone, each new event landed on a random leaf page, and bbolt
// writes a whole page (4 KiB) for every leaf it touches: that was more than
// half of the bytes each commit wrote and synced, and, with a large store,
// it spread intake's reads over the whole file.
//
// Finding a record by id goes through index, an in-memory map from a hash
// of the id to the received time in its key, built at Open from the keys
// and kept by the writer. The bucket stays the truth: an index entry is a
// hint that every lookup verifies with an exact Get, so an entry left by a
// transaction that rolled back, or two ids whose hashes collide, can never
// make a new event a duplicate.

type index struct {
	mu   sync.RWMutex
	seed maphash.Seed
	hint map[uint64]int64 // hash of id → received (Unix ns) of its record
	// more holds the ids whose hash was taken by another id when they were
	// added (a collision, or a hint left by a rolled-back commit). It is
	// looked in first.
	more map[string]int64
}

func newIndex() *index {
	return &index{seed: maphash.MakeSeed(), hint: map[uint64]int64{}, more: map[string]int64{}}
}

func dedupeKey(received int64, id string) []byte { return timeKey(time.Unix(0, received), id) }

// received returns where id's record would be, if anywhere.
func (x *index) received(id string) (int64, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if r, ok := x.more[id]; ok {
		return r, true
	}
	r, ok := x.hint[maphash.String(x.seed, id)]
	return r, ok
}

// add notes that id's record is at received. Only the writer adds.
func (x *index) add(id string, received int64) {
	h := maphash.String(x.seed, id)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.addLocked(h, received, func() string { return id })
}

// addLocked puts received under hash h, or under the id itself when h is
// taken by another time (x.mu is held; id is called only then).
func (x *index) addLocked(h uint64, received int64, id func() string) {
	if cur, ok := x.hint[h]; ok && cur != received {
		x.more[id()] = received
		return
	}
	x.hint[h] = received
}

// addKeyLocked is add for a dedupe key read from the bucket; x.mu is held.
func (x *index) addKeyLocked(k []byte) {
	if len(k) < 8 {
		return
	}
	x.addLocked(maphash.Bytes(x.seed, k[8:]), int64(binary.BigEndian.Uint64(k[:8])), func() string { return string(k[8:]) })
}

// remove forgets the record at key k (pruned).
func (x *index) remove(k []byte) {
	if len(k) < 8 {
		return
	}
	r := int64(binary.BigEndian.Uint64(k[:8]))
	id := string(k[8:])
	x.mu.Lock()
	defer x.mu.Unlock()
	if cur, ok := x.more[id]; ok && cur == r {
		delete(x.more, id)
		return
	}
	h := maphash.String(x.seed, id)
	if cur, ok := x.hint[h]; ok && cur == r {
		delete(x.hint, h)
	}
}

func (x *index) len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.hint) + len(x.more)
}

// dedupeGet finds id's dedupe record: its key and value, nil if none.
func (s *Store) dedupeGet(tx *bolt.Tx, id string) (k, v []byte) {
	r, ok := s.idx.received(id)
	if !ok {
		return nil, nil
	}
	k = dedupeKey(r, id)
	if v = tx.Bucket(bDedupe).Get(k); v == nil {
		return nil, nil
	}
	return k, v
}

// dedupePut stores rec under its received time and id, and indexes it.
func (s *Store) dedupePut(tx *bolt.Tx, rec *dedupeRecord) error {
	b := tx.Bucket(bDedupe)
	b.FillPercent = 0.95
	k := dedupeKey(rec.Received, rec.EventID)
	c := *rec
	if bytes.Equal(c.EventKey, k) {
		c.EventKey = nil // the event's own record: the same key
	}
	if err := putJSON(b, k, &c); err != nil {
		return err
	}
	s.idx.add(rec.EventID, rec.Received)
	return nil
}

// readDedupe decodes the record v stored at k. The key holds the id and the
// received time; the events key is omitted when it is the same as k (the
// event's own record).
func readDedupe(k, v []byte) (dedupeRecord, error) {
	var rec dedupeRecord
	err := json.Unmarshal(v, &rec)
	if len(k) >= 8 {
		rec.Received = int64(binary.BigEndian.Uint64(k[:8]))
		rec.EventID = string(k[8:])
	}
	if len(rec.EventKey) == 0 && rec.Status != lead.StatusDuplicate {
		rec.EventKey = bytes.Clone(k)
	}
	return rec, err
}

// buildIndex reads every dedupe key into the index (at Open, before
// anything else can use it: the lock is taken once, not per key).
func (s *Store) buildIndex() error {
	return s.view(func(tx *bolt.Tx) error {
		// Inside the view, as the writer takes them: s.mu, then idx.mu.
		s.idx.mu.Lock()
		defer s.idx.mu.Unlock()
		c := tx.Bucket(bDedupe).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			s.idx.addKeyLocked(k)
		}
		return nil
	})
}

// migrateDedupe rewrites a schema 1 dedupe bucket (keyed by id alone) into
// the time-keyed layout, in one transaction.
func migrateDedupe(tx *bolt.Tx) error {
	old := tx.Bucket(bDedupe)
	type kv struct{ k, v []byte }
	var recs []kv
	if err := old.ForEach(func(k, v []byte) error {
		var legacy struct {
			Status   string `json:"s"`
			LeadID   string `json:"l"`
			Received int64  `json:"t"`
			EventKey []byte `json:"k"`
		}
		if json.Unmarshal(v, &legacy) != nil {
			return nil // unreadable: it cannot answer a retry either way
		}
		nk := dedupeKey(legacy.Received, string(k))
		rec := dedupeRecord{Status: legacy.Status, LeadID: legacy.LeadID, EventKey: legacy.EventKey}
		if bytes.Equal(rec.EventKey, nk) {
			rec.EventKey = nil
		}
		nv, err := rec.encode()
		if err != nil {
			return err
		}
		recs = append(recs, kv{nk, nv})
		return nil
	}); err != nil {
		return err
	}
	if err := tx.DeleteBucket(bDedupe); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bDedupe)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := b.Put(r.k, r.v); err != nil {
			return err
		}
	}
	return nil
}
