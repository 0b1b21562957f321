package state

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// defaultBatch is how many keys one maintenance transaction visits when the
// caller does not say. Small enough that the writer's transaction stays in
// the low milliseconds, so that intake commits queued behind it barely notice.
const defaultBatch = 256

// sweep is a walk over one bucket in many small write transactions, for the
// maintenance jobs (prune, erase, drop): each step is one writer op that
// visits at most batch keys from where the previous step stopped, deletes the
// ones match selects, and returns. Between steps the writer commits whatever
// intake queued, so a sweep of a million keys never holds intake for more
// than one step.
//
// A step may run twice (the writer re-runs every op of a failed batch in a
// transaction of its own), so match must not have side effects outside tx
// except on the counts map it is given, which is fresh for every run.
type sweep struct {
	bucket []byte
	// stop, when set, is the first key not to visit (the walk ends there).
	stop  []byte
	batch int
	// match reports whether k should be deleted. It may write to tx (to
	// delete what hangs off k) and count what it did in n.
	match func(tx *bolt.Tx, k, v []byte, n map[string]int) (bool, error)
	// deleted, when set, is called after each step is durable with a copy
	// of every pair that step deleted.
	deleted func(k, v []byte)
	// rewrite, when set, is asked about every key match keeps: a non-nil
	// answer replaces its value. It must not write to the bucket itself.
	rewrite func(tx *bolt.Tx, k, v []byte) ([]byte, error)
}

// run walks the bucket to its end (or to stop) and returns how many keys it
// deleted, plus whatever match counted.
func (s *Store) run(w sweep) (int, map[string]int, error) {
	if w.batch <= 0 {
		w.batch = defaultBatch
	}
	total := map[string]int{}
	deletedN := 0
	var after []byte // last key visited by the previous step
	for {
		type pair struct{ k, v []byte }
		var (
			dels []pair
			puts []pair
			n    map[string]int
			next []byte
			done bool
		)
		err := s.update(func(tx *bolt.Tx) error {
			dels, puts, n, next, done = dels[:0], puts[:0], map[string]int{}, nil, false
			b := tx.Bucket(w.bucket)
			if b == nil {
				done = true
				return nil
			}
			c := b.Cursor()
			var k, v []byte
			switch {
			case after != nil:
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			default:
				k, v = c.First()
			}
			visited := 0
			for ; k != nil; k, v = c.Next() {
				if w.stop != nil && bytes.Compare(k, w.stop) >= 0 {
					break
				}
				if visited == w.batch {
					break
				}
				visited++
				next = k
				del, err := w.match(tx, k, v, n)
				if err != nil {
					return err
				}
				if del {
					p := pair{k: bytes.Clone(k)}
					if w.deleted != nil {
						p.v = bytes.Clone(v)
					}
					dels = append(dels, p)
				} else if w.rewrite != nil {
					nv, err := w.rewrite(tx, k, v)
					if err != nil {
						return err
					}
					if nv != nil {
						puts = append(puts, pair{k: bytes.Clone(k), v: nv})
					}
				}
			}
			if visited < w.batch {
				done = true
			}
			next = bytes.Clone(next)
			// Writing while a cursor walks the bucket can make it skip
			// keys, so the deletes and rewrites come after the walk.
			for _, p := range dels {
				if err := b.Delete(p.k); err != nil {
					return err
				}
			}
			for _, p := range puts {
				if err := b.Put(p.k, p.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return deletedN, total, err
		}
		deletedN += len(dels)
		addCounts(total, n)
		if w.deleted != nil {
			for _, p := range dels {
				w.deleted(p.k, p.v)
			}
		}
		if done || next == nil {
			return deletedN, total, nil
		}
		after = next
	}
}

// scan calls fn with the pairs of bucket, in key order, until fn returns
// false, in read transactions of at most batch keys each (default when
// batch <= 0): the read-only counterpart of run, for passes that only look.
// It costs the writer nothing (a write step commits, and syncs, even when
// it changed nothing), and no read transaction stays open for long. fn
// must copy what it keeps.
func (s *Store) scan(bucket []byte, batch int, fn func(k, v []byte) bool) error {
	if batch <= 0 {
		batch = defaultBatch
	}
	var after []byte
	for {
		done := true
		err := s.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			var k, v []byte
			if after == nil {
				k, v = c.First()
			} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
			var last []byte // valid until the transaction ends
			for n := 0; k != nil; k, v = c.Next() {
				if n == batch {
					done, after = false, bytes.Clone(last)
					return nil
				}
				n++
				if !fn(k, v) {
					return nil
				}
				last = k
			}
			return nil
		})
		if err != nil || done {
			return err
		}
	}
}

// bucketsWithPrefix lists the root buckets whose name starts with prefix
// (the per-sink outbox/, pending/ and dead/ buckets), without the prefix.
func (s *Store) bucketsWithPrefix(prefix string) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		out = rootNames(tx, prefix)
		return nil
	})
	return out, err
}

func rootNames(tx *bolt.Tx, prefix string) []string {
	var out []string
	c := tx.Cursor()
	for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

func addCounts(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}
