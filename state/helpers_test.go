package state_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
	bolt "go.etcd.io/bbolt"
)

// personIncoming is one accepted hemnet event about a person, whose raw
// body carries the person's email and phone as a provider would send them.
func personIncoming(eventKey, entity, email, phone string, received time.Time, sinks ...string) *state.Incoming {
	l := &lead.Lead{Action: lead.ActionCreated, Source: lead.Source{Name: "hemnet", Provider: "hemnet"},
		ReceivedAt: lead.Time{Time: received},
		Person:     lead.Person{FirstName: lead.Str("Someone"), Email: lead.Str(email), Phone: lead.Str(phone)}}
	ev := lead.Event{Key: eventKey, EntityKey: lead.Key("hemnet", entity), Status: lead.StatusAccepted, Lead: l}
	ev.Finish()
	body, _ := l.Marshal()
	raw, _ := json.Marshal(map[string]any{"id": eventKey, "contact": map[string]any{"email": email, "phone": phone}})
	return &state.Incoming{
		Raw:   state.RawRequest{Source: "hemnet", Body: raw, Received: received.UnixNano()},
		Items: []state.Item{{Event: ev, LeadJSON: body, Sinks: sinks, Via: lead.ViaWebhook}},
	}
}

// clock is a settable Options.Now, safe to read from the writer goroutine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// keys lists the keys of bucket in the closed store in dir.
func keys(t *testing.T, dir, bucket string) map[string]bool {
	t.Helper()
	db, err := bolt.Open(dir+"/"+state.FileName, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("open for inspection: %v", err)
	}
	defer db.Close()
	out := map[string]bool{}
	db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error { out[string(k)] = true; return nil })
	})
	return out
}

// dedupeIDs lists the ids of the dedupe records in the closed store in dir
// (their keys are received(8) + id).
func dedupeIDs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for k := range keys(t, dir, "dedupe") {
		if len(k) < 8 {
			t.Fatalf("dedupe key %q is not received(8) + id", k)
		}
		out[k[8:]] = true
	}
	return out
}

func entryOf(es []state.Entry, leadID string) *state.Entry {
	for i := range es {
		if es[i].LeadID == leadID {
			return &es[i]
		}
	}
	return nil
}

func leadID(entity string) string { return lead.LeadID(lead.Key("hemnet", entity)) }

func ack(t *testing.T, s *state.Store, sink string, e *state.Entry) {
	t.Helper()
	done, waitDone := wait(t)
	if err := s.Ack(sink, e, done); err != nil {
		t.Fatal(err)
	}
	waitDone()
}

func bury(t *testing.T, s *state.Store, sink string, e *state.Entry) {
	t.Helper()
	done, waitDone := wait(t)
	if err := s.Bury(sink, e, "400 Bad Request", 400, "bad", done); err != nil {
		t.Fatal(err)
	}
	waitDone()
}

var _ = fmt.Sprint

// dueAll is every entry of sink, due or not.
func dueAll(t *testing.T, s *state.Store, sink string) []state.Entry {
	t.Helper()
	es, _, err := s.Due(sink, t0.AddDate(10, 0, 0), 1<<20, nil)
	if err != nil {
		t.Fatalf("due: %v", err)
	}
	return es
}

// leadsInEvents returns the lead ids of the events stored in dir (a lead's
// JSON lives in the events that produced it).
func leadsInEvents(t *testing.T, dir string) map[string]bool {
	t.Helper()
	db, err := bolt.Open(dir+"/"+state.FileName, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("open for inspection: %v", err)
	}
	defer db.Close()
	out := map[string]bool{}
	db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("events")).ForEach(func(_, v []byte) error {
			var er struct {
				LeadID string          `json:"lead_id"`
				Lead   json.RawMessage `json:"lead"`
			}
			if json.Unmarshal(v, &er) == nil && er.LeadID != "" && er.Lead != nil {
				out[er.LeadID] = true
			}
			return nil
		})
	})
	return out
}
