package state_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/state/statetest"
)

func TestDeadLetterAndDropDead(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	for i := range 4 {
		commit1(t, s, incoming("hemnet", fmt.Sprint("k", i), fmt.Sprint("c", i), time.Time{}, "a", "b"))
	}
	var buriedA []state.Entry
	for _, e := range due(t, s, "a")[:3] {
		bury(t, s, "a", &e)
		buriedA = append(buriedA, e)
	}
	eb := due(t, s, "b")[0]
	bury(t, s, "b", &eb)

	d, err := s.DeadLetter(eb.ID)
	if err != nil || d.Sink != "b" || d.ID != eb.ID || d.Status != 400 {
		t.Fatalf("dead letter %s = %+v, %v", eb.ID, d, err)
	}
	if _, err := s.DeadLetter("msg_nope"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("unknown dead letter = %v, want ErrNotFound", err)
	}
	if n, err := s.DropDead("a", []string{buriedA[0].ID, "msg_nope", eb.ID}); err != nil || n != 1 {
		t.Fatalf("drop dead = %d, %v; want 1 (b's letter is not a's)", n, err)
	}
	if _, err := s.DeadLetter(buriedA[0].ID); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("dropped letter still found: %v", err)
	}
	if n, err := s.DropDead("", []string{eb.ID}); err != nil || n != 1 {
		t.Fatalf("drop dead in any sink = %d, %v", n, err)
	}
	if n, err := s.DropDead("", nil); err != nil || n != 2 {
		t.Fatalf("drop all dead = %d, %v; want 2", n, err)
	}
	if dl, _ := s.DeadLetters(""); len(dl) != 0 {
		t.Fatalf("dead letters left: %+v", dl)
	}
	// Their pending deliveries elsewhere are untouched.
	if n := len(due(t, s, "b")); n != 3 {
		t.Fatalf("sink b has %d pending, want 3", n)
	}
}

func TestDropPending(t *testing.T) {
	s, _ := statetest.Open(t, state.Options{})
	for i := range 600 { // more than one step
		commit1(t, s, incoming("hemnet", fmt.Sprint("k", i), fmt.Sprint("c", i), time.Time{}, "gone", "kept", "withdead"))
	}
	bury(t, s, "withdead", &due(t, s, "withdead")[0])

	if n, err := s.DropPending("gone"); err != nil || n != 600 {
		t.Fatalf("drop pending = %d, %v", n, err)
	}
	if n, err := s.DropPending("withdead"); err != nil || n != 599 {
		t.Fatalf("drop pending = %d, %v", n, err)
	}
	sinks, err := s.Sinks()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]state.SinkStats{}
	for _, st := range sinks {
		got[st.Name] = st
	}
	if _, ok := got["gone"]; ok || len(got) != 2 || got["kept"].Pending != 600 || got["withdead"].Pending != 0 || got["withdead"].Dead != 1 {
		t.Fatalf("sinks after drop = %+v; want gone not listed, kept whole, withdead with its letter", sinks)
	}
	// The sink comes back: a new lead for it is queued as usual.
	commit1(t, s, incoming("hemnet", "k-new", "c0", time.Time{}, "gone"))
	if es := due(t, s, "gone"); len(es) != 1 {
		t.Fatalf("sink gone after a new lead: %+v", es)
	}
	if n, err := s.DropPending("never-existed"); err != nil || n != 0 {
		t.Fatalf("drop pending of an unknown sink = %d, %v", n, err)
	}
}
