package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sinks"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/lead"
)

// versioned is a test provider whose body {"id","v"} is version v of entity
// id: what Reapit's applicants.modified looks like to the engine.
type versioned struct{}

func (versioned) Name() string                                     { return "crm" }
func (versioned) Provider() string                                 { return "test" }
func (versioned) Verify(context.Context, *providers.Request) error { return nil }
func (versioned) Parse(r *providers.Request) ([]lead.Event, error) {
	var b struct {
		ID string `json:"id"`
		V  int64  `json:"v"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		return nil, err
	}
	l := &lead.Lead{Action: lead.ActionUpdated, Source: lead.Source{Name: "crm", Provider: "test",
		Entity: "applicant", EntityID: b.ID, EventType: fmt.Sprint("v", b.V), Via: lead.ViaWebhook}}
	ev := lead.Event{Key: lead.Key("crm", b.ID, fmt.Sprint(b.V)), EntityKey: lead.Key("crm", b.ID),
		Version: time.Unix(b.V, 0), Status: lead.StatusAccepted, Lead: l}
	ev.Finish()
	return []lead.Event{ev}, nil
}

func TestOneEntityInOrderNewestReplacesPendingOlderIsStale(t *testing.T) {
	rec := newRecorder()
	release := make(chan struct{})
	rec.answer = func(d sinks.Delivery, n int) error {
		if n == 1 {
			<-release // hold v1 in flight while newer versions arrive
		}
		return nil
	}
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failed test must not hold the sink forever
		}
	}()
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, func(o *lsync.Options) {
		o.Sources = append(o.Sources, lsync.SourceSpec{Source: versioned{}})
	})
	hook := h.url + "/webhooks/crm"
	post(t, hook, []byte(`{"id":"A","v":10}`), nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec.mu.Lock()
		calls := rec.calls
		rec.mu.Unlock()
		if calls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("v1 never reached the sink")
		}
		time.Sleep(time.Millisecond)
	}
	post(t, hook, []byte(`{"id":"A","v":20}`), nil)
	post(t, hook, []byte(`{"id":"A","v":30}`), nil)
	if code, m := post(t, hook, []byte(`{"id":"A","v":5}`), nil); code != 200 || m["status"] != "ignored" {
		t.Fatalf("older version: %d %v, want ignored (stale)", code, m)
	}
	time.Sleep(50 * time.Millisecond) // v3 must wait for v1 even though it is due
	close(release)
	got := rec.wait(t, 2)
	if got[0].Lead.Source.EventType != "v10" || got[1].Lead.Source.EventType != "v30" {
		t.Fatalf("delivered %s then %s, want v1 then v3 (v2 replaced while pending)",
			got[0].Lead.Source.EventType, got[1].Lead.Source.EventType)
	}
	select {
	case d := <-rec.arrived:
		t.Fatalf("extra delivery %s", d.Lead.Source.EventType)
	case <-time.After(100 * time.Millisecond):
	}
}
