package state

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// DeadLetter returns the dead letter with delivery id id, whichever sink it
// died on; ErrNotFound when there is none.
func (s *Store) DeadLetter(id string) (DeadLetter, error) {
	var d DeadLetter
	err := s.view(func(tx *bolt.Tx) error {
		for _, sink := range rootNames(tx, "dead/") {
			if v := tx.Bucket(deadBucket(sink)).Get([]byte(id)); v != nil {
				if err := json.Unmarshal(v, &d); err != nil {
					return fmt.Errorf("dead letter %s: %w", id, err)
				}
				return nil
			}
		}
		return fmt.Errorf("dead letter %s: %w", id, ErrNotFound)
	})
	return d, err
}

// DropDead deletes dead letters for good and returns how many went. ids
// names them (ids not found are skipped: the count tells); ids empty drops
// every dead letter of sink, as RetryDead retries them all. sink "" means
// every sink.
func (s *Store) DropDead(sink string, ids []string) (int, error) {
	sinks := []string{sink}
	if sink == "" {
		var err error
		if sinks, err = s.bucketsWithPrefix("dead/"); err != nil {
			return 0, err
		}
	}
	total := 0
	for _, sn := range sinks {
		var n int
		var err error
		if len(ids) == 0 {
			n, _, err = s.run(sweep{bucket: deadBucket(sn),
				match: func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return true, nil }})
		} else {
			keys := make([][]byte, len(ids))
			for i, id := range ids {
				keys[i] = []byte(id)
			}
			n, err = s.deleteKeys(deadBucket(sn), keys)
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// DropPending deletes every pending delivery of sink, for an operator who
// removed the sink from the config and does not want its queue delivered
// when it comes back. It returns how many entries went. Dead letters stay;
// when there are none either, the sink's buckets go too, so status stops
// listing it (EnsureSinks, or the next lead for it, brings them back). An
// attempt in flight when it runs ends without re-queueing its entry.
func (s *Store) DropPending(sink string) (int, error) {
	n, _, err := s.run(sweep{bucket: outboxBucket(sink),
		match: func(*bolt.Tx, []byte, []byte, map[string]int) (bool, error) { return true, nil }})
	if err != nil {
		return n, err
	}
	if _, _, err := s.run(sweep{bucket: pendingBucket(sink),
		match: func(tx *bolt.Tx, _, v []byte, _ map[string]int) (bool, error) {
			// An entry queued since the outbox sweep passed keeps its index.
			ob := tx.Bucket(outboxBucket(sink))
			return ob == nil || ob.Get(v) == nil, nil
		}}); err != nil {
		return n, err
	}
	return n, s.update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{outboxBucket(sink), pendingBucket(sink), deadBucket(sink)} {
			if b := tx.Bucket(name); b != nil {
				if k, _ := b.Cursor().First(); k != nil {
					return nil // something is (again) queued or dead: keep the sink
				}
			}
		}
		for _, name := range [][]byte{outboxBucket(sink), pendingBucket(sink), deadBucket(sink)} {
			if tx.Bucket(name) != nil {
				if err := tx.DeleteBucket(name); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
