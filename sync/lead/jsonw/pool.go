package jsonw

import "sync"

// Buffers of records that live only until a commit returns (the raw
// request, the event record, the lead) come from a pool: allocating and
// zeroing ~6 KB per request, and collecting it, was a measurable part of a
// request's CPU. Sizes differ a little from record to record, so a pooled
// buffer is never smaller than minPooled; one larger than maxPooled is
// left to the collector, so that a rare large body does not stay around.
const (
	minPooled = 4 << 10
	maxPooled = 64 << 10
)

var pool sync.Pool // of *[]byte

// Pooled is New with a buffer from the pool. Hand the bytes Done returns
// back with Recycle once nothing refers to them any more; not handing them
// back is fine.
func Pooled(capacity int) Object {
	if p, ok := pool.Get().(*[]byte); ok {
		if cap(*p) >= capacity {
			return Object{b: append((*p)[:0], '{')}
		}
		pool.Put(p) // too small for this one, not for the next
	}
	return New(max(capacity, minPooled))
}

// Recycle hands b, which Done returned for an object begun with Pooled (or
// New), back to the pool. The caller must not use b, or anything made from
// it without a copy, afterwards.
func Recycle(b []byte) {
	if cap(b) < minPooled || cap(b) > maxPooled {
		return
	}
	b = b[:0]
	pool.Put(&b)
}
