package pipedrive

// Find-or-create is not atomic in Pipedrive: two leads of the same person
// delivered at once would both miss the person and create it twice. The
// dispatcher never runs two deliveries of one lead at once, but two leads
// (two listings, two sources) of one person it may; keyed locks make their
// find-or-create take turns within this sink.

import (
	"context"
	"hash/fnv"
)

// stripes is the number of locks keys are spread over: plenty for the
// dispatcher's concurrency, small enough to cost nothing.
const stripes = 64

// keyedLocks serializes callers with the same key (and, rarely, callers
// whose keys share a stripe). Locking honours ctx.
type keyedLocks [stripes]chan struct{}

func newKeyedLocks() *keyedLocks {
	var l keyedLocks
	for i := range l {
		l[i] = make(chan struct{}, 1)
	}
	return &l
}

// lock takes key's lock and returns its unlock, or ctx's error.
func (l *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	c := l[h.Sum32()%stripes]
	select {
	case c <- struct{}{}:
		return func() { <-c }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
