package state

import (
	"runtime"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// op is one unit of work for the writer. fn runs inside the batch's write
// transaction and must be safe to run a second time (in a transaction of its
// own) if another op of the batch failed: it writes its results to variables
// it owns, overwriting any earlier run's.
type op struct {
	fn   func(tx *bolt.Tx) error
	done func(err error)
}

// writer is the single goroutine that owns write transactions. It takes one
// op, yields once if fewer than yieldBelow more are waiting, so that
// goroutines ready to submit get to do so (with GOMAXPROCS=1 they otherwise
// would not run before the drain), drains whatever queued, and commits it all
// in one transaction: while that commit syncs, the next batch queues. There
// is no timer: a lone request is committed at once.
type writer struct {
	s        *Store
	ops      chan op
	max      int
	onCommit func(int, time.Duration)

	mu     sync.RWMutex // guards closed against sends on a closed channel
	closed bool
	done   chan struct{}
}

// yieldBelow: with this many ops waiting, the writer commits at once. A
// yield returns only after the request goroutines the last commit woke have
// run, which adds their answers' time to the next commit's latency; with a
// batch already queued that buys nothing. Measured against always yielding,
// four alternating pairs: 19–22% vs 17–21% of the bare handler at 16
// connections (p50 1.4–2.0 vs 1.6–2.1 ms), the same at 64 and 256 (30–37%,
// 38–43%, batches of ~20 and ~50 instead of ~27 and ~70), and the same with
// GOMAXPROCS=1.
const yieldBelow = 4

func newWriter(s *Store, max int, onCommit func(int, time.Duration)) *writer {
	w := &writer{s: s, ops: make(chan op, 4*max), max: max, onCommit: onCommit, done: make(chan struct{})}
	go w.run()
	return w
}

// submit queues o; it returns ErrClosed (without calling o.done) when the
// writer is closed.
func (w *writer) submit(o op) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	w.ops <- o
	return nil
}

func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ops)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *writer) run() {
	defer close(w.done)
	// The writer keeps an OS thread of its own. Every commit ends in two
	// fdatasyncs, long enough for the runtime to hand the thread's P to
	// other goroutines; an unlocked writer then queued behind the request
	// goroutines it serves before it could take the next batch, which made
	// each commit up to twice as long under load (measured: ~1.2 → ~0.9 ms
	// at 16 connections, ~2.0 → ~1.4 ms at 64, in alternating runs). With
	// one P it is the other way round (every turn of the writer would hand
	// the P between threads: 23% → 17% of the reference at 64
	// connections), so then it does not. The thread ends with the goroutine.
	if runtime.GOMAXPROCS(0) > 1 {
		runtime.LockOSThread()
	}
	batch := make([]op, 0, w.max)
	for first := range w.ops {
		batch = append(batch[:0], first)
		if len(w.ops) < yieldBelow {
			runtime.Gosched()
		}
	drain:
		for len(batch) < w.max {
			select {
			case o, ok := <-w.ops:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		w.commit(batch)
		clear(batch) // drop references to finished closures
	}
}

// commit runs batch in one transaction. If one op fails, the transaction is
// rolled back and every op is run again in a transaction of its own, so that
// one bad op cannot fail its neighbours.
func (w *writer) commit(batch []op) {
	start := time.Now()
	var failed int = -1
	var opErr error
	err := w.inTx(batch, func(i int, err error) { failed, opErr = i, err })
	if w.onCommit != nil {
		w.onCommit(len(batch), time.Since(start))
	}
	switch {
	case err == nil:
		for _, o := range batch {
			o.done(nil)
		}
	case failed >= 0 && len(batch) > 1:
		for i := range batch {
			batch[i].done(w.inTx(batch[i:i+1], nil))
		}
	case failed >= 0:
		batch[0].done(opErr)
	default: // the commit itself failed (disk full, I/O error): nothing was written
		for _, o := range batch {
			o.done(err)
		}
	}
}

// inTx runs ops in one transaction, with the event counts they add
// (statBatch) written at its end. failed, if not nil, learns which op
// failed.
func (w *writer) inTx(ops []op, failed func(int, error)) error {
	return w.s.rawUpdate(func(tx *bolt.Tx) error {
		w.s.stats.reset()
		for i, o := range ops {
			if err := o.fn(tx); err != nil {
				if failed != nil {
					failed(i, err)
				}
				return err
			}
		}
		return w.s.stats.flush(tx)
	})
}

// update runs fn in the writer's next batch and waits for it to be durable.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	ch := make(chan error, 1)
	if err := s.w.submit(op{fn: fn, done: func(err error) { ch <- err }}); err != nil {
		return err
	}
	return <-ch
}

// updateAsync runs fn in the writer's next batch and calls done when it is
// durable (or failed). done runs on the writer goroutine: it must not block.
func (s *Store) updateAsync(fn func(tx *bolt.Tx) error, done func(error)) error {
	return s.w.submit(op{fn: fn, done: done})
}
