package sync

import (
	"context"
	stdsync "sync"
	"sync/atomic"
	"time"
)

// TailEvent is one thing that happened to a lead, for `leadsync tail`:
// an event committed (Kind "event") or a delivery attempt's outcome (Kind
// "delivery"). It carries ids, never personal data.
type TailEvent struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // event | delivery
	Source  string    `json:"source,omitempty"`
	EventID string    `json:"event_id,omitempty"`
	LeadID  string    `json:"lead_id,omitempty"`
	Status  string    `json:"status,omitempty"` // event: accepted, duplicate…; delivery: delivered, retry, dead, interrupted
	Reason  string    `json:"reason,omitempty"`
	Sinks   []string  `json:"sinks,omitempty"` // event: where it was queued
	Sink    string    `json:"sink,omitempty"`  // delivery
	Attempt int       `json:"attempt,omitempty"`
	Took    string    `json:"took,omitempty"`
}

// hub fans tail events out to subscribers. Publishing never blocks intake or
// dispatch: a subscriber that does not keep up misses events (and is told
// how many).
type hub struct {
	mu   stdsync.Mutex
	subs map[chan TailEvent]*int
	n    atomic.Int32 // len(subs), read without mu
}

// active reports whether anyone is tailing, so that intake and dispatch make
// no TailEvent (and take no lock shared by every request) when nobody is.
func (h *hub) active() bool { return h.n.Load() > 0 }

func (h *hub) publish(ev TailEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch, dropped := range h.subs {
		select {
		case ch <- ev:
		default:
			*dropped++
		}
	}
}

// Tail calls fn with every tail event from now until ctx is done. If fn
// falls behind by more than a buffer, events are skipped and fn is given a
// TailEvent of Kind "skipped" saying how many.
func (e *Engine) Tail(ctx context.Context, fn func(TailEvent) error) error {
	ch := make(chan TailEvent, 1024)
	dropped := 0
	e.tail.mu.Lock()
	if e.tail.subs == nil {
		e.tail.subs = map[chan TailEvent]*int{}
	}
	e.tail.subs[ch] = &dropped
	e.tail.n.Store(int32(len(e.tail.subs)))
	e.tail.mu.Unlock()
	defer func() {
		e.tail.mu.Lock()
		delete(e.tail.subs, ch)
		e.tail.n.Store(int32(len(e.tail.subs)))
		e.tail.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-ch:
			e.tail.mu.Lock()
			n := dropped
			dropped = 0
			e.tail.mu.Unlock()
			if n > 0 {
				if err := fn(TailEvent{Time: time.Now().UTC(), Kind: "skipped", Attempt: n}); err != nil {
					return err
				}
			}
			if err := fn(ev); err != nil {
				return err
			}
		}
	}
}
