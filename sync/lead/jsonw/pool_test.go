package jsonw

import (
	"bytes"
	"testing"
)

func TestPooledWritesWhatNewWrites(t *testing.T) {
	write := func(o Object, s string) []byte {
		o.Str("a", s)
		o.Int("n", 7)
		return o.Done()
	}
	for i, s := range awkward {
		want := write(New(0), s)
		got := write(Pooled(len(s)), s)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d: Pooled wrote %s, New %s", i, got, want)
		}
		// A recycled buffer comes back empty, whatever it held.
		Recycle(got)
		if again := write(Pooled(len(s)), s); !bytes.Equal(again, want) {
			t.Fatalf("%d: from a recycled buffer: %s, want %s", i, again, want)
		}
	}
}

func TestPooledCapacity(t *testing.T) {
	capOf := func(o Object) int { return cap(o.Done()) }
	if c := capOf(Pooled(10)); c < minPooled {
		t.Errorf("a pooled buffer has capacity %d, want at least %d", c, minPooled)
	}
	// A buffer too small for what is asked is not handed out.
	Recycle(make([]byte, 0, minPooled))
	if c := capOf(Pooled(3 * minPooled)); c < 3*minPooled {
		t.Errorf("Pooled(%d) has capacity %d", 3*minPooled, c)
	}
	// Buffers outside the pooled sizes are left to the collector.
	Recycle(make([]byte, 0, 16))
	Recycle(make([]byte, 0, 2*maxPooled))
	for range 4 {
		if c := capOf(Pooled(0)); c < minPooled || c > maxPooled {
			t.Errorf("pool handed out a buffer of capacity %d", c)
		}
	}
}
