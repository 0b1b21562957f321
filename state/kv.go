package state

import (
	"bytes"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Small named values that are not events: reconciliation cursors and cached
// provider signing keys. Both are rare writes, so they simply go through the
// writer like everything else.

var bKeys = []byte("keys")

// Cursor returns the reconciliation cursor of source and customer (zero when
// none was saved).
func (s *Store) Cursor(source, customer string) (time.Time, error) {
	var t time.Time
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCursors)
		if b == nil {
			return nil
		}
		if v := b.Get(cursorKey(source, customer)); len(v) == 8 {
			t = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		}
		return nil
	})
	return t, err
}

// SetCursor saves the cursor of source and customer, durably, unless the
// saved one is later already (a cursor never moves back).
func (s *Store) SetCursor(source, customer string, t time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bCursors)
		if err != nil {
			return err
		}
		k := cursorKey(source, customer)
		if v := b.Get(k); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) >= t.UnixNano() {
			return nil
		}
		return b.Put(k, u64(uint64(t.UnixNano())))
	})
}

// Cursors lists every saved cursor as source → customer → time.
func (s *Store) Cursors() (map[string]map[string]time.Time, error) {
	out := map[string]map[string]time.Time{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCursors)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			src, cust, ok := bytes.Cut(k, []byte{0})
			if !ok || len(v) != 8 {
				return nil
			}
			if out[string(src)] == nil {
				out[string(src)] = map[string]time.Time{}
			}
			out[string(src)][string(cust)] = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
			return nil
		})
	})
	return out, err
}

func cursorKey(source, customer string) []byte { return []byte(source + "\x00" + customer) }

// KeyCache returns a cache of provider signing keys kept in the store under
// the given namespace (the source name), for providers.
func (s *Store) KeyCache(namespace string) *KeyCache { return &KeyCache{s: s, ns: namespace} }

// KeyCache keeps public signing keys (no secrets) by key id.
type KeyCache struct {
	s  *Store
	ns string
}

// GetKey returns the cached key for kid.
func (c *KeyCache) GetKey(kid string) ([]byte, bool) {
	var out []byte
	c.s.view(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bKeys); b != nil {
			out = bytes.Clone(b.Get([]byte(c.ns + "\x00" + kid)))
		}
		return nil
	})
	return out, out != nil
}

// PutKey caches key for kid, durably.
func (c *KeyCache) PutKey(kid string, key []byte) error {
	return c.s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bKeys)
		if err != nil {
			return err
		}
		return b.Put([]byte(c.ns+"\x00"+kid), key)
	})
}

// fileKeyPrefix marks, in the meta bucket, a file a sink has written leads
// to.
const fileKeyPrefix = "file:"

// RememberFile records path (absolute) as a file a sink writes leads to,
// so that erase still finds it once the sink is gone from the config.
// Remembering a path again writes nothing.
func (s *Store) RememberFile(path string) error {
	k := []byte(fileKeyPrefix + path)
	known := false
	if err := s.view(func(tx *bolt.Tx) error {
		known = tx.Bucket(bMeta).Get(k) != nil
		return nil
	}); err != nil || known {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bMeta).Put(k, []byte{1})
	})
}

// Files lists the paths RememberFile recorded.
func (s *Store) Files() ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bMeta).Cursor()
		p := []byte(fileKeyPrefix)
		for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
			out = append(out, string(k[len(p):]))
		}
		return nil
	})
	return out, err
}
