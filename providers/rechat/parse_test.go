package rechat_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/rechat"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/lead.json from the current mapping")

// TestGolden maps each testdata/golden/<case>/request.json, signed and
// verified as Rechat would send it, and compares the leads with lead.json
// (an array: one lead per contact or appointment). Run with -update to
// rewrite.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	src := newSource(t)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := request(t, readFile(t, filepath.Join(dir, "request.json")))
			if err := src.Verify(context.Background(), r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := indent(t, acceptedLeads(t, src, r))
			golden := filepath.Join(dir, "lead.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := readFile(t, golden); !bytes.Equal(got, want) {
				t.Errorf("leads differ from %s (run go test -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// acceptedLeads parses r, expects only accepted events with distinct keys,
// checks every lead against the lead schema and returns the leads.
func acceptedLeads(t *testing.T, src *rechat.Source, r *providers.Request) []*lead.Lead {
	t.Helper()
	evs, err := src.Parse(r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	keys := map[string]bool{}
	var leads []*lead.Lead
	for i, ev := range evs {
		if ev.Status != lead.StatusAccepted || ev.Lead == nil || ev.EntityKey == "" {
			t.Fatalf("event %d = %+v, want accepted", i, ev)
		}
		if keys[ev.Key] {
			t.Errorf("event %d repeats key %q", i, ev.Key)
		}
		keys[ev.Key] = true
		wire, err := ev.Lead.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		leadtest.Validate(t, wire)
		leads = append(leads, ev.Lead)
	}
	return leads
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rawKey(body string, parts ...string) string {
	sum := sha256.Sum256([]byte(body))
	return lead.Key(append([]string{"rechat", "raw", hex.EncodeToString(sum[:])}, parts...)...)
}

// TestFanOut50 maps a full Rechat delivery, 50 contacts, to 50 leads with
// distinct keys and lead ids, in order.
func TestFanOut50(t *testing.T) {
	body := rechat.SampleContacts(50)
	src := newSource(t)
	r := request(t, body)
	if err := src.Verify(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	leads := acceptedLeads(t, src, r)
	if len(leads) != 50 {
		t.Fatalf("%d leads, want 50", len(leads))
	}
	var env struct {
		Payload struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, l := range leads {
		if l.Source.EntityID != env.Payload.Data[i].ID || l.Action != lead.ActionCreated || l.Interest.Intent != lead.IntentBuy ||
			l.Interest.Message == nil || !strings.Contains(*l.Interest.Message, "&") || l.Person.Email == nil {
			t.Errorf("lead %d = %+v", i, l)
		}
		ids[l.ID] = true
	}
	if len(ids) != 50 {
		t.Errorf("%d distinct lead ids, want 50", len(ids))
	}
	if a, b := rechat.SampleContacts(1), rechat.SampleContacts(1); bytes.Equal(a, b) {
		t.Error("two samples are the same")
	}
	if evs, err := src.Parse(request(t, rechat.SampleContacts(0))); err != nil || len(evs) != 1 {
		t.Errorf("SampleContacts(0) = %d events, %v; want 1", len(evs), err)
	}
}

// TestContactKeys pins the keys of a contact event: the contact, the event
// and its version, so that each change is an event of its own and a retry is
// a duplicate; and the version orders the changes.
func TestContactKeys(t *testing.T) {
	src := newSource(t)
	one := func(event, contact string) lead.Event {
		t.Helper()
		body := fmt.Sprintf(`{"topic":"contacts","event":%q,"timestamp":1712918356501,"payload":{"data":[%s]}}`, event, contact)
		evs, err := src.Parse(request(t, []byte(body)))
		if err != nil || len(evs) != 1 {
			t.Fatalf("Parse = %+v, %v", evs, err)
		}
		return evs[0]
	}
	ev := one("update", `{"id":"c1","updated_at":1712918356.462}`)
	if ev.Key != lead.Key("rechat", "contact", "c1", "update", "1712918356.462") || ev.EntityKey != lead.Key("rechat", "contact", "c1") {
		t.Errorf("keys = %q, %q", ev.Key, ev.EntityKey)
	}
	if want := time.Date(2024, 4, 12, 10, 39, 16, 462e6, time.UTC); !ev.Version.Equal(want) || !ev.Lead.OccurredAt.Equal(want) {
		t.Errorf("Version, OccurredAt = %v, %v; want %v", ev.Version, ev.Lead.OccurredAt, want)
	}
	ev = one("delete", `{"id":"c1","updated_at":1712918356.462,"deleted_at":1712918400}`)
	if ev.Key != lead.Key("rechat", "contact", "c1", "delete", "1712918400") || ev.Version.Unix() != 1712918400 || ev.Lead.Action != lead.ActionDeleted {
		t.Errorf("delete: key %q, version %v, action %s", ev.Key, ev.Version, ev.Lead.Action)
	}
	ev = one("create", `{"id":"c1"}`)
	if ev.Key != lead.Key("rechat", "contact", "c1", "create", "ts:1712918356501") || !ev.Version.Equal(time.UnixMilli(1712918356501)) {
		t.Errorf("no updated_at: key %q, version %v", ev.Key, ev.Version)
	}
	ev = one("create", `{"id":"c1","updated_at":"2024-04-12T10:39:16.462123Z"}`)
	if ev.Key != lead.Key("rechat", "contact", "c1", "create", "2024-04-12T10:39:16.462123Z") {
		t.Errorf("RFC 3339 updated_at: key %q", ev.Key)
	}
}

func TestIgnoredTopics(t *testing.T) {
	deal := `{"topic":"Deals","event":"update","timestamp":1712918356501,"payload":{"deal":{"id":"d1","title":"4100 Oak Lawn"}}}`
	showing := `{"topic":"Showings","event":"showing.created","timestamp":1,"payload":{"showing":{"id":"s1","appointments":[{"id":"a"}]}}}`
	contacts := `{"topic":"contacts","event":"create","timestamp":1,"payload":{"data":[{"id":"c"}]}}`
	for _, c := range []struct {
		topics []string
		body   string
		reason string
	}{
		{nil, deal, "topic Deals ignored: deals carry no lead"},
		{[]string{"Deals", "Contacts"}, deal, "topic Deals ignored: deals carry no lead"},
		{[]string{"Contacts"}, showing, "topic Showings not configured"},
		{[]string{"showings"}, contacts, "topic Contacts not configured"},
		{nil, `{"topic":"Listings","event":"x","payload":{}}`, "topic Listings not configured"},
		{nil, `{"topic":"contacts","event":"create","payload":{"data":[]}}`, "no contacts in payload"},
		{nil, `{"topic":"Showings","event":"showing.created","payload":{"showing":{"id":"s1","appointments":null}}}`,
			"showing.created has no appointments: no buyer to make a lead of"},
		{nil, `{"topic":"Showings","event":"showing.created","payload":{"showing":{"id":"s1"}}}`, "showing.created has no appointments: no buyer to make a lead of"},
	} {
		evs, err := newSource(t, c.topics...).Parse(request(t, []byte(c.body)))
		if err != nil || len(evs) != 1 {
			t.Fatalf("Parse(%s) = %+v, %v", c.body, evs, err)
		}
		want := lead.Event{Key: rawKey(c.body), Status: lead.StatusIgnored, Reason: c.reason}
		if got := evs[0]; got.Key != want.Key || got.Status != want.Status || got.Reason != want.Reason || got.Lead != nil || got.EntityKey != "" {
			t.Errorf("Parse(%s) = %+v, want %+v", c.body, got, want)
		}
	}
	// Configured topics match in any case: Rechat itself sends "contacts".
	evs, err := newSource(t, "CONTACTS").Parse(request(t, []byte(contacts)))
	if err != nil || evs[0].Status != lead.StatusAccepted {
		t.Errorf("topic case: %+v, %v", evs, err)
	}
}

func TestQuarantined(t *testing.T) {
	for body, want := range map[string]lead.Event{
		`{"topic":"contacts","event":"merge","payload":{"data":[]}}`:                  {Reason: `unsupported Contacts event "merge"`},
		`{"topic":"Showings","event":"appointment.created","payload":{"showing":{}}}`: {Reason: `unsupported Showings event "appointment.created"`},
		`{"topic":"Listings","event":"x","payload":{}}`:                               {Reason: "unsupported topic Listings"},
	} {
		evs, err := newSource(t, "Contacts", "Showings", "Listings").Parse(request(t, []byte(body)))
		if err != nil || len(evs) != 1 || evs[0].Status != lead.StatusQuarantined || evs[0].Reason != want.Reason || evs[0].Key != rawKey(body) {
			t.Errorf("Parse(%s) = %+v, %v; want quarantined %q", body, evs, err, want.Reason)
		}
	}
}

// TestOneBadItemDoesNotSinkTheDelivery: a contact or appointment that
// cannot be mapped is quarantined alone; the others make leads.
func TestOneBadItemDoesNotSinkTheDelivery(t *testing.T) {
	src := newSource(t)
	body := `{"topic":"contacts","event":"create","timestamp":1,"payload":{"data":[{"id":"ok-1"},{"first_name":"No Id"},{"id":"bad","email":{"x":1}},"not an object",{"id":"ok-2","updated_at":"soon"}]}}`
	evs, err := src.Parse(request(t, []byte(body)))
	if err != nil || len(evs) != 5 {
		t.Fatalf("Parse = %+v, %v", evs, err)
	}
	want := []struct{ status, reason, key string }{
		{lead.StatusAccepted, "", lead.Key("rechat", "contact", "ok-1", "create", "ts:1")},
		{lead.StatusQuarantined, "contact 1 has no id", rawKey(body, "contact", "1")},
		{lead.StatusQuarantined, "contact 2: decode: ", rawKey(body, "contact", "2")},
		{lead.StatusQuarantined, "contact 3: decode: ", rawKey(body, "contact", "3")},
		{lead.StatusQuarantined, "contact 4: decode: ", rawKey(body, "contact", "4")},
	}
	for i, w := range want {
		if evs[i].Status != w.status || !strings.HasPrefix(evs[i].Reason, w.reason) || evs[i].Key != w.key {
			t.Errorf("event %d = %+v, want %s %q %q", i, evs[i], w.status, w.reason, w.key)
		}
		if strings.Contains(evs[i].Reason, "No Id") {
			t.Errorf("reason %q carries personal data", evs[i].Reason)
		}
	}
	body = `{"topic":"Showings","event":"showing.created","payload":{"showing":{"id":"s","appointments":[{"id":"a1","contact":{"email":"a@b.c"}},{"time":"now"},{"status":"Requested"},{"id":"a4","contact":{"email":true}}]}}}`
	evs, err = src.Parse(request(t, []byte(body)))
	if err != nil || len(evs) != 4 || evs[0].Status != lead.StatusAccepted || evs[1].Status != lead.StatusQuarantined ||
		evs[2].Reason != "appointment 2 has no id" || !strings.HasPrefix(evs[3].Reason, "appointment 3: contact: decode:") {
		t.Errorf("showing = %+v, %v", evs, err)
	}
}

func TestUnmappableBodyIsAnError(t *testing.T) {
	src := newSource(t)
	for body, want := range map[string]string{
		``:                                    "decode body",
		`not json`:                            "decode body",
		`[]`:                                  "decode body",
		`{"topic":"contacts"} {}`:             "decode body",
		`{"topic":true}`:                      "decode body",
		`{"topic":"contacts"}`:                "no payload",
		`{"topic":"contacts","payload":null}`: "no payload",
		`{"event":"x","payload":{}}`:          "no topic, and the payload is neither contacts nor a showing",
		`{"event":"x","payload":[1]}`:         "no topic",
		`{"topic":"contacts","event":"create","payload":{}}`:                                  "decode payload: no data",
		`{"topic":"contacts","event":"create","payload":{"data":null}}`:                       "decode payload: no data",
		`{"topic":"contacts","event":"create","payload":{"data":{}}}`:                         "decode payload",
		`{"topic":"contacts","event":"create","payload":"x"}`:                                 "decode payload",
		`{"topic":"Showings","event":"showing.created","payload":{}}`:                         "decode payload: no showing",
		`{"topic":"Showings","event":"showing.created","payload":{"showing":{"brand":true}}}`: "decode payload",
	} {
		evs, err := src.Parse(request(t, []byte(body)))
		if err == nil || !strings.Contains(err.Error(), want) || evs != nil {
			t.Errorf("Parse(%s) = %+v, %v; want error containing %q", body, evs, err, want)
		}
	}
}

// TestShowingKeys: a showing event that repeats an unchanged appointment
// makes the same key (a duplicate); a change of status makes a new one.
func TestShowingKeys(t *testing.T) {
	src := newSource(t)
	key := func(event, appt string) (string, string) {
		body := fmt.Sprintf(`{"topic":"Showings","event":%q,"timestamp":1,"payload":{"showing":{"id":"s","appointments":[%s]}}}`, event, appt)
		evs, err := src.Parse(request(t, []byte(body)))
		if err != nil || len(evs) != 1 || evs[0].Status != lead.StatusAccepted {
			t.Fatalf("Parse = %+v, %v", evs, err)
		}
		return evs[0].Key, evs[0].Lead.Action
	}
	a, actA := key("showing.created", `{"id":"a1","status":"Requested","time":"2024-06-22T15:30:00Z"}`)
	b, actB := key("showing.updated", `{"id":"a1","status":"Requested","time":"2024-06-22T15:30:00Z"}`)
	c, _ := key("showing.updated", `{"id":"a1","status":"Confirmed","time":"2024-06-22T15:30:00Z"}`)
	d, _ := key("showing.updated", `{"id":"a1","status":"Confirmed","updated_at":1718870390.5}`)
	if a != b || a == c || c == d || d != lead.Key("rechat", "showing_appointment", "a1", "1718870390.5") {
		t.Errorf("keys %q %q %q %q", a, b, c, d)
	}
	if actA != lead.ActionCreated || actB != lead.ActionUpdated {
		t.Errorf("actions %s, %s", actA, actB)
	}
}

// An appointment without updated_at is ordered by the envelope's timestamp,
// as a contact is: a late retry of an older status is then stale.
func TestAppointmentVersionFallsBackToTheTimestamp(t *testing.T) {
	src := newSource(t)
	body := `{"topic":"Showings","event":"showing.updated","timestamp":1713004756462,"payload":{"showing":{"id":"s","appointments":[{"id":"a1","status":"Confirmed","contact":{"email":"a@b.c"}}]}}}`
	evs, err := src.Parse(request(t, []byte(body)))
	if err != nil || len(evs) != 1 {
		t.Fatalf("%+v, %v", evs, err)
	}
	if want := time.UnixMilli(1713004756462); !evs[0].Version.Equal(want) {
		t.Errorf("version = %v, want the envelope's %v", evs[0].Version, want)
	}
	body = `{"topic":"Showings","event":"showing.updated","timestamp":1713004756462,"payload":{"showing":{"id":"s","appointments":[{"id":"a1","status":"Confirmed","updated_at":"2024-04-12T10:00:00Z"}]}}}`
	if evs, err = src.Parse(request(t, []byte(body))); err != nil || len(evs) != 1 ||
		!evs[0].Version.Equal(time.Date(2024, 4, 12, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("with updated_at: %+v, %v", evs, err)
	}
}
