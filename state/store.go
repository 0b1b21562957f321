// Package state is leadsync's durable store: one bbolt file that holds the
// idempotent inbox (dedupe records, raw requests, events with the leads they
// produced), and a transactional outbox per sink with its dead letters.
//
// Every write goes through one writer goroutine that commits everything that
// queued while the previous commit was syncing (group commit, no timer), so
// that many concurrent webhooks share one fsync without any of them waiting
// for a clock. A webhook's events, raw request, lead and outbox entries are
// committed in one transaction: either all of it is on disk, or none.
//
// Layout (one file, <state_dir>/leadsync.db):
//
//	meta            "schema"             → "1"
//	dedupe          received(8) + event id / "vk_"… → dedupeRecord (no personal data; kept by erase)
//	events          received(8) + ev id  → eventRecord
//	raw             received(8) + seq(8) → rawRecord (headers + body as received)
//	versions        lead id              → versionRecord (newest applied)
//	stats           source + "\x00" + status → count (8 bytes)
//	outbox/<sink>   due(8) + delivery id → Entry (names the events record that holds its lead)
//	pending/<sink>  lead id              → outbox key of the entity's pending entry
//	dead/<sink>     delivery id          → DeadLetter
//	cursors         source + customer    → cursor (reconciliation)
//
// Times in keys are big-endian Unix nanoseconds, so "what is due" and "what is
// older than the retention" are cursor seeks, never scans.
//
// Maintenance (Prune, Erase, DropPending, DropDead) runs as many small writer
// transactions, so intake interleaves with it. bbolt never shrinks its file
// and keeps the bytes of freed pages: Compact (offline) and Rewrite (online,
// after Erase) copy the live data into a new file and rename it over the old.
package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the on-disk layout version stored in meta.
// Version 2 keys dedupe records by received time and id (see index.go);
// Open migrates a version 1 file.
const SchemaVersion = "2"

// FileName is the database file inside the state directory.
const FileName = "leadsync.db"

var (
	bMeta     = []byte("meta")
	bDedupe   = []byte("dedupe")
	bEvents   = []byte("events")
	bRaw      = []byte("raw")
	bVersions = []byte("versions")
	bStats    = []byte("stats")
	bCursors  = []byte("cursors")
)

func outboxBucket(sink string) []byte  { return []byte("outbox/" + sink) }
func pendingBucket(sink string) []byte { return []byte("pending/" + sink) }
func deadBucket(sink string) []byte    { return []byte("dead/" + sink) }

// ErrClosed is returned by every operation once the store is closed or
// closing. Intake answers it with 503.
var ErrClosed = errors.New("store closed")

// ErrNotFound is returned when a dead letter, event or raw request asked
// for by id is not stored (never was, or pruned or erased since).
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("database is locked by another process (is the daemon running?)")

// Options configure Open.
type Options struct {
	// Logger receives warnings; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LockTimeout is how long Open waits for the file lock; default 1s.
	LockTimeout time.Duration
	// ReadOnly opens the file with a shared lock, for the CLI while the
	// daemon is stopped.
	ReadOnly bool
	// MaxBatch caps how many operations one commit takes; default 1024.
	MaxBatch int
	// OnCommit, when set, is called by the writer after each commit with the
	// number of operations it carried (for metrics).
	OnCommit func(ops int, took time.Duration)
}

// Store is the open database. Its methods are safe for concurrent use.
type Store struct {
	// mu guards db against Rewrite, which swaps the file under a running
	// daemon: every transaction (the writer's commits and every read) holds
	// mu.RLock for its duration, Rewrite holds mu.Lock. Nothing outside
	// view/rawUpdate, Rewrite and Close may touch db, and nothing may
	// keep a *bolt.DB or anything read in a transaction past it.
	mu     sync.RWMutex
	db     *bolt.DB
	closed bool // guarded by mu
	bopts  bolt.Options
	log    *slog.Logger
	now    func() time.Time
	path   string
	w      *writer
	idx    *index    // dedupe records by id; see index.go
	stats  statBatch // the writer's; see statBatch

	stopRelease, released chan struct{} // the releaseEvery goroutine
	closeOnce             sync.Once
}

// releaseInterval is how often the file pages that reads mapped into the
// process are handed back to the page cache (see releaseMapped).
const releaseInterval = 10 * time.Second

func (s *Store) releaseEvery(d time.Duration) {
	defer close(s.released)
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-s.stopRelease:
			return
		case <-t.C:
			s.releaseMapped()
		}
	}
}

// pageSize is the page size of the files Open, Compact and Rewrite create
// (an existing file keeps its own; see Open).
const pageSize = 8192

// Open opens (creating if needed) the database in dir. A damaged file (one
// bbolt refuses, one cut short, a page that is not what it should be) is an
// error that says so and what to do, not a crash, and is not written to.
func Open(dir string, o Options) (s *Store, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open state: %w", err)
		}
	}
	path := filepath.Join(dir, FileName)
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		// A crash while bbolt created the file, or a copy gone wrong: it
		// holds nothing. The daemon starts a new store in its place;
		// read-only commands have nothing to read.
		if o.ReadOnly {
			return nil, fmt.Errorf("open state %s: the file is empty (0 bytes), not a database: restore it from a backup, or start the daemon to make a new store in its place", path)
		}
		o.Logger.Warn("the store file is empty (0 bytes); starting a new store in its place", "path", path)
	}
	// bbolt maps the file into memory: reading a file cut short faults
	// (SIGBUS), and a damaged page fails one of bbolt's assertions (a
	// panic). A file shorter than its meta page says is refused before
	// bbolt opens it; while it is opened and read, a fault or a panic is an
	// error too. (One inside bolt.Open leaves the file open: the process
	// is about to exit with the error.)
	if err := checkSize(path); err != nil {
		return nil, err
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer onDamage(path, &err, func() { s = nil })
	bopts := bolt.Options{
		Timeout:      o.LockTimeout,
		ReadOnly:     o.ReadOnly,
		FreelistType: bolt.FreelistMapType,
		// For a new file (an existing one keeps its own): a typical event
		// record (~2 KB with its lead) and raw request (~1.5 KB) pack three
		// and five to an 8 KiB page, where a 4 KiB page holds one and two,
		// so a commit writes fewer pages (and makes fewer write calls).
		PageSize: pageSize,
	}
	db, err := bolt.Open(path, 0o640, &bopts)
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("open state %s: %w", path, ErrLocked)
	}
	if refusedAsDamaged(err) {
		return nil, damaged(path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	s = &Store{db: db, bopts: bopts, log: o.Logger, now: o.Now, path: path, idx: newIndex()}
	defer func() {
		if r := recover(); r != nil {
			db.Close()
			panic(r) // to the recover above, which words it
		}
	}()
	if !o.ReadOnly {
		if err := s.init(); err != nil {
			db.Close()
			return nil, err
		}
		// A rewrite interrupted by a crash leaves its half-written copy;
		// holding the lock on the database, we know no rewrite is running.
		removeRewriteTemp(path)
	}
	if err := s.checkSchema(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.buildIndex(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state %s: read dedupe index: %w", path, err)
	}
	s.releaseMapped()
	s.stopRelease = make(chan struct{})
	s.released = make(chan struct{})
	go s.releaseEvery(releaseInterval)
	s.w = newWriter(s, o.MaxBatch, o.OnCommit)
	return s, nil
}

// fromDamage reports whether a panic recovered while reading the file comes
// from the file: a fault reading the mapping (a file cut short, under
// SetPanicOnFault), or one of bbolt's own checks of a page.
func fromDamage(r any) bool {
	if f, ok := r.(interface{ Addr() uintptr }); ok && f != nil {
		return true // runtime fault at an address: see debug.SetPanicOnFault
	}
	msg := fmt.Sprint(r)
	for _, s := range []string{"assertion failed", "page", "freelist", "unreachable", "high water mark", "bucket header", "overflow"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// onDamage, deferred by a function that reads the database file at path
// (with debug.SetPanicOnFault on), turns a panic that comes from the file
// into its error in *err, after cleanup; any other panic is a bug of ours,
// not the file's, and goes on with its stack.
func onDamage(path string, err *error, cleanup func()) {
	r := recover()
	if r == nil {
		return
	}
	cleanup()
	if !fromDamage(r) {
		panic(r)
	}
	*err = damaged(path, fmt.Errorf("%v", r))
}

// refusedAsDamaged reports whether bolt.Open refused the file for what it
// holds (not a bbolt file, a bad checksum, another format version).
func refusedAsDamaged(err error) bool {
	return errors.Is(err, bolt.ErrInvalid) || errors.Is(err, bolt.ErrChecksum) || errors.Is(err, bolt.ErrVersionMismatch)
}

// damaged words the error of a file that cannot be read as a database.
func damaged(path string, err error) error {
	return fmt.Errorf("open state %s: the database file is damaged (%v). Nothing was written to it. Keep it for inspection, then restore the last backup of it (README: Operations, backups), or move it aside to start a new, empty store (what it held is then not delivered)", path, err)
}

// checkSize refuses a file shorter than its newest valid meta page says it
// is (cut short by a copy or a full disk): bbolt would read past its end. A
// file that is absent, empty, or has no valid meta page is left to bbolt.
func checkSize(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	m0 := readMeta(f, 0)
	next := int64(pageSize) // the second meta is one page in; as this build makes them if the first cannot say
	if m0.magic && m0.pageSize >= 512 && m0.pageSize <= 1<<20 {
		next = m0.pageSize
	}
	m1 := readMeta(f, next)
	newest := m0
	if !m0.valid || m1.valid && m1.txid > m0.txid {
		newest = m1
	}
	if !newest.valid {
		return nil
	}
	// The size is read after the metas: a daemon writing the file grows
	// it before it writes a meta that reaches further, so a healthy file
	// read while it grows is never shorter than the meta read before.
	fi, err := f.Stat()
	if err == nil && fi.Size() < newest.size {
		return damaged(path, fmt.Errorf("%d bytes, where its records reach %d: it was cut short", fi.Size(), newest.size))
	}
	return nil
}

// meta is what checkSize reads of one of bbolt's meta pages.
type meta struct {
	magic, valid   bool // the magic number; and the checksum too
	pageSize, size int64
	txid           uint64
}

// readMeta reads the meta page at off as bbolt lays it out: a 16-byte page
// header, then magic, version, page size, flags (4 bytes each), the root
// bucket (16), the freelist page, the page count, the txid, and an FNV-64a
// checksum of the 56 bytes before it (8 each).
func readMeta(f *os.File, off int64) meta {
	buf := make([]byte, 16+64)
	if n, _ := f.ReadAt(buf, off); n < len(buf) {
		return meta{}
	}
	b := buf[16:]
	h := fnv.New64a()
	h.Write(b[:56])
	m := meta{magic: binary.LittleEndian.Uint32(b[0:]) == 0xED0CDAED, pageSize: int64(binary.LittleEndian.Uint32(b[8:]))}
	pages, txid := binary.LittleEndian.Uint64(b[40:]), binary.LittleEndian.Uint64(b[48:])
	m.valid = m.magic && h.Sum64() == binary.LittleEndian.Uint64(b[56:]) && m.pageSize > 0 && pages <= math.MaxInt64/uint64(m.pageSize)
	if m.valid {
		m.size, m.txid = int64(pages)*m.pageSize, txid
	}
	return m
}

// baseBuckets are the buckets every store has (sinks add their own).
var baseBuckets = [][]byte{bMeta, bDedupe, bEvents, bRaw, bVersions, bStats, bCursors}

// init creates the buckets and records or migrates the schema. A file that
// needs none of it is not written to (each commit rewrites a meta page; a
// damaged file found later in Open stays as it was).
func (s *Store) init() error {
	ready := false
	s.db.View(func(tx *bolt.Tx) error {
		for _, b := range baseBuckets {
			if tx.Bucket(b) == nil {
				return nil
			}
		}
		ready = string(tx.Bucket(bMeta).Get([]byte("schema"))) == SchemaVersion
		return nil
	})
	if ready {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range baseBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("init state: %w", err)
			}
		}
		meta := tx.Bucket(bMeta)
		switch v := meta.Get([]byte("schema")); {
		case v == nil:
			if err := meta.Put([]byte("schema"), []byte(SchemaVersion)); err != nil {
				return fmt.Errorf("init state: %w", err)
			}
		case string(v) == "1":
			if err := migrateDedupe(tx); err != nil {
				return fmt.Errorf("init state: migrate schema 1 to %s: %w", SchemaVersion, err)
			}
			if err := meta.Put([]byte("schema"), []byte(SchemaVersion)); err != nil {
				return fmt.Errorf("init state: %w", err)
			}
		case string(v) != SchemaVersion:
			return fmt.Errorf("init state: on-disk schema %q, this build reads %q", v, SchemaVersion)
		}
		return nil
	})
}

// checkSchema refuses a file this build cannot read (a read-only open does
// not migrate).
func (s *Store) checkSchema() error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bMeta)
		if b == nil {
			return fmt.Errorf("open state %s: not a leadsync database (no meta bucket)", s.path)
		}
		if v := b.Get([]byte("schema")); string(v) != SchemaVersion {
			return fmt.Errorf("open state %s: on-disk schema %q, this build reads %q (open it once read-write to migrate)", s.path, v, SchemaVersion)
		}
		return nil
	})
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close stops the writer after the operations already queued, then closes
// the file. Operations submitted afterwards fail with ErrClosed.
func (s *Store) Close() error {
	s.w.close()
	s.closeOnce.Do(func() { close(s.stopRelease) })
	<-s.released
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.db.Close()
}

// view runs fn in a read transaction, holding off Rewrite while it runs.
// fn must copy what it keeps: bbolt's slices die with the transaction, and
// the file they point into may be replaced right after.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(fn)
}

// rawUpdate runs fn in a write transaction of its own, holding off Rewrite.
// Only the writer goroutine calls it: everything else writes through
// s.update/s.updateAsync.
func (s *Store) rawUpdate(fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Update(fn)
}

// EnsureSinks creates the outbox buckets of the named sinks, so that a sink
// with nothing queued still shows up in status.
func (s *Store) EnsureSinks(names []string) error {
	return s.update(func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := sinkBuckets(tx, n); err != nil {
				return err
			}
		}
		return nil
	})
}

type sinkB struct{ outbox, pending, dead *bolt.Bucket }

func sinkBuckets(tx *bolt.Tx, sink string) (sinkB, error) {
	var b sinkB
	var err error
	if b.outbox, err = tx.CreateBucketIfNotExists(outboxBucket(sink)); err != nil {
		return b, fmt.Errorf("sink %q buckets: %w", sink, err)
	}
	if b.pending, err = tx.CreateBucketIfNotExists(pendingBucket(sink)); err != nil {
		return b, fmt.Errorf("sink %q buckets: %w", sink, err)
	}
	if b.dead, err = tx.CreateBucketIfNotExists(deadBucket(sink)); err != nil {
		return b, fmt.Errorf("sink %q buckets: %w", sink, err)
	}
	return b, nil
}
