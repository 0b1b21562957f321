package generic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/generic"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/lead.json from the current mapping")

// caseConfig is a golden case's config.json: the mapping part of a generic
// source, as the config file would give it.
type caseConfig struct {
	EventID   string            `json:"event_id"`
	EventTime string            `json:"event_time"`
	Type      string            `json:"type"`
	Types     []string          `json:"types"`
	Each      string            `json:"each"`
	Fields    map[string]string `json:"fields"`
	IDHeader  string            `json:"id_header"`
}

func loadCase(t testing.TB, dir string) (generic.Config, []byte) {
	t.Helper()
	var cc caseConfig
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "config.json")), &cc); err != nil {
		t.Fatalf("config.json: %v", err)
	}
	cfg := guideConfig(cc.Fields)
	cfg.EventID, cfg.EventTime, cfg.Type, cfg.Types, cfg.Each, cfg.IDHeader =
		cc.EventID, cc.EventTime, cc.Type, cc.Types, cc.Each, cc.IDHeader
	return cfg, readFile(t, filepath.Join(dir, "request.json"))
}

// TestGolden maps each testdata/golden/<case>/request.json with the mapping
// of its config.json, signed and verified as the guide's sender would, and
// compares the leads with lead.json (an array: one lead per element when
// the case fans out). Run with -update to rewrite.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, body := loadCase(t, dir)
			src := newSource(t, cfg)
			r := request(src, body)
			if err := src.Verify(context.Background(), r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := parseAccepted(t, src, r)
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

// parseAccepted parses r, expects only accepted events with distinct keys,
// checks every lead against the lead schema and returns the leads as an
// indented JSON array for a golden file.
func parseAccepted(t *testing.T, src *generic.Source, r *providers.Request) []byte {
	t.Helper()
	evs, err := src.Parse(r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	leads := make([]*lead.Lead, 0, len(evs))
	keys := map[string]bool{}
	for i, ev := range evs {
		if ev.Status != lead.StatusAccepted || ev.Lead == nil || ev.Key == "" || ev.EntityKey == "" {
			t.Fatalf("event %d = %+v, want accepted with keys and a lead", i, ev)
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
	return indent(t, leads)
}

// indent encodes v as golden files hold it: & and < kept readable.
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

func parse(t *testing.T, cfg generic.Config, body string) ([]lead.Event, error) {
	t.Helper()
	src := newSource(t, cfg)
	return src.Parse(request(src, []byte(body)))
}

// TestKeys pins the event and entity keys: event id (and index) for the
// event; entity_id, else email, else event id for the entity; and the event
// time as the version only when it comes from the body.
func TestKeys(t *testing.T) {
	cfg := guideConfig(map[string]string{"email": "/data/email", "entity_id": "/data/id", "customer_id": "/data/customer"})
	for body, want := range map[string][2]string{
		`{"id":"e1","created":"2023-06-15T14:00:00Z","data":{"id":"p1","email":"A@x.com"}}`: {lead.Key("website", "e1"), lead.Key("website", "id", "p1")},
		`{"id":"e1","data":{"email":" A@X.com "}}`:                                          {lead.Key("website", "e1"), lead.Key("website", "email", "a@x.com")},
		`{"id":"e1","data":{}}`:                          {lead.Key("website", "e1"), lead.Key("website", "event", "e1")},
		`{"id":"e1","data":{"customer":"c9","id":"p1"}}`: {lead.Key("website", "e1"), lead.Key("website", "customer", "c9", "id", "p1")},
		`{"id":42,"data":{}}`:                            {lead.Key("website", "42"), lead.Key("website", "event", "42")},
	} {
		evs, err := parse(t, cfg, body)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Parse(%s) = %v, %v", body, evs, err)
		}
		if evs[0].Key != want[0] || evs[0].EntityKey != want[1] {
			t.Errorf("Parse(%s): keys %q, %q; want %q, %q", body, evs[0].Key, evs[0].EntityKey, want[0], want[1])
		}
	}
	evs, _ := parse(t, cfg, `{"id":"e1","created":"2023-06-15T14:00:00Z","data":{}}`)
	if want := time.Date(2023, 6, 15, 14, 0, 0, 0, time.UTC); !evs[0].Version.Equal(want) || !evs[0].Lead.OccurredAt.Equal(want) {
		t.Errorf("Version, OccurredAt = %v, %v; want %v", evs[0].Version, evs[0].Lead.OccurredAt, want)
	}
	evs, _ = parse(t, cfg, `{"id":"e1","data":{}}`)
	if !evs[0].Version.IsZero() || !evs[0].Lead.OccurredAt.Equal(testNow) {
		t.Errorf("without event time: Version, OccurredAt = %v, %v; want zero, the timestamp header", evs[0].Version, evs[0].Lead.OccurredAt)
	}
	cfg.TimestampHeader, cfg.MaxClockSkew, cfg.Signed = "", 0, generic.SignedBody
	evs, _ = parse(t, cfg, `{"id":"e1","data":{}}`)
	if !evs[0].Lead.OccurredAt.Equal(testReceived) {
		t.Errorf("without any time: OccurredAt = %v, want received", evs[0].Lead.OccurredAt)
	}
}

func TestTypesFilter(t *testing.T) {
	cfg := guideConfig(map[string]string{"email": "/data/email"})
	cfg.Types = []string{"user.registered"}
	for body, want := range map[string]lead.Event{
		`{"id":"evt_1","type":"property.created","data":{"property":{"id":"prop_1"}}}`: {
			Key: lead.Key("website", "evt_1"), Reason: `event type "property.created" not in types`,
		},
		`{"id":"evt_2","data":{}}`: {
			Key: lead.Key("website", "evt_2"), Reason: "no event type at /type; types lists user.registered",
		},
		`{"type":"property.sold"}`: {
			Key: lead.Key("website", "raw", "f10d5e9f7fcb3ad1e6e1e2a89f7bdf7b0e0e1e6f4b0a4f4ff0e1b2b0b1c1d1e1"), Reason: `event type "property.sold" not in types`,
		},
	} {
		evs, err := parse(t, cfg, body)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Parse(%s) = %v, %v", body, evs, err)
		}
		ev := evs[0]
		if ev.Status != lead.StatusIgnored || ev.Reason != want.Reason || ev.Lead != nil || ev.EntityKey != "" {
			t.Errorf("Parse(%s) = %+v, want ignored: %s", body, ev, want.Reason)
		}
		if !strings.Contains(want.Key, "raw") && ev.Key != want.Key {
			t.Errorf("Parse(%s).Key = %q, want %q", body, ev.Key, want.Key)
		}
		if strings.Contains(want.Key, "raw") && !strings.HasPrefix(ev.Key, lead.Key("website", "raw", "")) {
			t.Errorf("Parse(%s).Key = %q, want the body's hash", body, ev.Key)
		}
	}
	evs, err := parse(t, cfg, `{"id":"evt_3","type":"user.registered","data":{"email":"a@b.c"}}`)
	if err != nil || evs[0].Status != lead.StatusAccepted || evs[0].Lead.Source.EventType != "user.registered" {
		t.Errorf("listed type: %+v, %v", evs, err)
	}
}

func TestUnmappableBodyIsAnError(t *testing.T) {
	cfg := guideConfig(map[string]string{
		"email": "/data/email", "bedrooms_min": "/data/beds", "price_min": "/data/min", "areas": "/data/areas",
		"marketing_consent": "/data/ok", "action": "/data/action", "message": "/data/msg",
	})
	for body, want := range map[string]string{
		``:                                 "decode body",
		`{`:                                "decode body",
		`{} {}`:                            "decode body: unexpected data after the JSON value",
		`{"data":{}}`:                      "event_id: no event id at /id",
		`{"id":"","data":{}}`:              "event_id: no event id at /id",
		`{"id":" ","data":{}}`:             "event_id: no event id at /id",
		`{"id":null}`:                      "event_id: no event id at /id",
		`[]`:                               "event_id: no event id at /id",
		`{"id":{"x":1}}`:                   "event_id: /id: want a string or a number, got an object",
		`{"id":true}`:                      "event_id: /id: want a string or a number, got a boolean",
		`{"id":"e","type":[]}`:             "type: /type: want a string or a number, got an array",
		`{"id":"e","created":"yesterday"}`: "event_time: /created: want RFC 3339 text or Unix seconds or milliseconds",
		`{"id":"e","created":-5}`:          "event_time: /created: time out of range",
		`{"id":"e","created":"10000-01-01T00:00:00Z"}`:     "event_time: /created: want RFC 3339",
		`{"id":"e","created":1e300}`:                       "event_time: /created: time out of range",
		`{"id":"e","created":true}`:                        "event_time: /created: want a string or a number, got a boolean",
		`{"id":"e","data":{"email":{"a":"secret@x.com"}}}`: "fields.email: /data/email: want a string or a number, got an object",
		`{"id":"e","data":{"beds":"many"}}`:                "fields.bedrooms_min: /data/beds: want a finite number",
		`{"id":"e","data":{"beds":2.5}}`:                   "fields.bedrooms_min: /data/beds: want an integer",
		`{"id":"e","data":{"beds":1e300}}`:                 "fields.bedrooms_min: /data/beds: want an integer",
		`{"id":"e","data":{"min":"1e999"}}`:                "fields.price_min: /data/min: want a finite number",
		`{"id":"e","data":{"min":[1]}}`:                    "fields.price_min: /data/min: want a string or a number, got an array",
		`{"id":"e","data":{"areas":[{"n":1}]}}`:            "fields.areas: /data/areas: item 0: want a string or a number, got an object",
		`{"id":"e","data":{"ok":"maybe"}}`:                 "fields.marketing_consent: /data/ok: want a boolean",
		`{"id":"e","data":{"ok":[]}}`:                      "fields.marketing_consent: /data/ok: want a boolean, got an array",
		`{"id":"e","data":{"action":"archived"}}`:          `fields.action: /data/action: action "archived" is none of created, updated, deleted`,
		`{"id":"e","data":{"action":"me@secret.example"}}`: "action (not a word) is none of",
		`{"id":"e","data":{"msg":false}}`:                  "fields.message: /data/msg: want a string or a number, got a boolean",
	} {
		evs, err := parse(t, cfg, body)
		if err == nil || !strings.Contains(err.Error(), want) || evs != nil {
			t.Errorf("Parse(%s) = %+v, %v; want error containing %q", body, evs, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q carries the value", err)
		}
	}
}

func TestAction(t *testing.T) {
	cfg := guideConfig(map[string]string{"action": "/a"})
	for in, want := range map[string]string{
		"created": "created", "CREATE": "created", "user.registered": "created", "appointment.scheduled": "created",
		"FORM_SUBMITTED": "created", "updated": "updated", "contact:modified": "updated", "appointment.cancelled": "updated",
		"appointment/rescheduled": "updated", "deleted": "deleted", "lead.removed": "deleted", "": "created",
	} {
		evs, err := parse(t, cfg, fmt.Sprintf(`{"id":"e","a":%q}`, in))
		if err != nil || evs[0].Lead.Action != want {
			t.Errorf("action %q → %v, %v; want %s", in, evs, err, want)
		}
	}
}

func TestIntent(t *testing.T) {
	cfg := guideConfig(map[string]string{"intent": "/i"})
	for in, want := range map[string]string{
		"buy": "buy", "Buyer": "buy", "PURCHASE": "buy", "seller": "sell", "Tenant": "rent", "renting": "rent",
		"landlord": "let", "lettings": "let", "appraisal": "valuation", "valuation": "valuation",
		"investor": "other", "": "other",
	} {
		evs, err := parse(t, cfg, fmt.Sprintf(`{"id":"e","i":%q}`, in))
		if err != nil || evs[0].Lead.Interest.Intent != want {
			t.Errorf("intent %q → %v, %v; want %s", in, evs, err, want)
		}
	}
}

func TestEach(t *testing.T) {
	cfg := guideConfig(map[string]string{"email": "/list/-/email", "first_name": "/name"})
	cfg.Each = "/list"
	evs, err := parse(t, cfg, `{"id":"e","list":[]}`)
	if err != nil || len(evs) != 1 || evs[0].Status != lead.StatusIgnored || evs[0].Key != lead.Key("website", "e") ||
		evs[0].Reason != "each: /list is empty: no one to make a lead of" {
		t.Errorf("empty array: %+v, %v", evs, err)
	}
	for body, want := range map[string]string{
		`{"id":"e"}`:                             "each: nothing at /list",
		`{"id":"e","list":null}`:                 "each: nothing at /list",
		`{"id":"e","list":{"a":1}}`:              "each: /list: want an array, got an object",
		`{"id":"e","list":[{"email":["x"]}]}`:    "/list/0: fields.email: /list/-/email: want a string or a number, got an array",
		`{"id":"e","list":[{},{"email":true}]}`:  "/list/1: fields.email",
		`{"id":"e","list":[` + many(1001) + `]}`: "each: /list has 1001 elements, more than 1000",
	} {
		if evs, err := parse(t, cfg, body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.60s) = %+v, %v; want error containing %q", body, evs, err, want)
		}
	}
	evs, err = parse(t, cfg, `{"id":"e","list":[`+many(1000)+`]}`)
	if err != nil || len(evs) != 1000 {
		t.Errorf("1000 elements: %d events, %v", len(evs), err)
	}
	// Elements that are strings: the element itself is the field's value
	// ("/list/-"), and element pointers below a string find nothing.
	cfg.Fields["areas"] = "/list/-"
	evs, err = parse(t, cfg, `{"id":"e","name":"Kim","list":["North","South"]}`)
	if err != nil || len(evs) != 2 {
		t.Fatalf("Parse = %v, %v", evs, err)
	}
	for i, area := range []string{"North", "South"} {
		l := evs[i].Lead
		if len(l.Interest.Areas) != 1 || l.Interest.Areas[0] != area || l.Person.Email != nil || *l.Person.FirstName != "Kim" ||
			evs[i].Key != lead.Key("website", "e", strconv.Itoa(i)) || evs[i].EntityKey != lead.Key("website", "event", "e", strconv.Itoa(i)) {
			t.Errorf("lead %d = %+v, keys %q %q", i, l, evs[i].Key, evs[i].EntityKey)
		}
	}
}

func many(n int) string { return strings.TrimSuffix(strings.Repeat(`{},`, n), ",") }

// TestRelativePointerNeedsEachPrefix: "-" after another prefix is a member
// name, as RFC 6901 has it, not the current element.
func TestRelativePointerNeedsEachPrefix(t *testing.T) {
	cfg := guideConfig(map[string]string{"email": "/other/-/email"})
	cfg.Each = "/list"
	evs, err := parse(t, cfg, `{"id":"e","list":[{"email":"no@x.com"}],"other":{"-":{"email":"yes@x.com"}}}`)
	if err != nil || *evs[0].Lead.Person.Email != "yes@x.com" {
		t.Errorf("Parse = %+v, %v", evs, err)
	}
}

// TestExplain maps a golden case without secrets, and matches Parse but for
// the clock.
func TestExplain(t *testing.T) {
	cfg, body := loadCase(t, filepath.Join("testdata", "golden", "appointment-scheduled"))
	cfg.Secrets, cfg.Header = nil, ""
	evs, err := generic.Explain(cfg, body)
	if err != nil || len(evs) != 2 || evs[1].Lead.Person.Email == nil || *evs[1].Lead.Person.Email != "mary@example.com" {
		t.Fatalf("Explain = %+v, %v", evs, err)
	}
	if !evs[0].Lead.ReceivedAt.Equal(testNow) {
		t.Errorf("received_at = %v, want the clock", evs[0].Lead.ReceivedAt)
	}
	cfg, body = loadCase(t, filepath.Join("testdata", "golden", "standard-webhooks-id-header"))
	cfg.Name = ""
	evs, err = generic.Explain(cfg, body)
	if err != nil || evs[0].Key != lead.Key("explain", "explain") || !evs[0].Lead.OccurredAt.Equal(testNow) {
		t.Errorf("Explain with the id header = %+v, %v", evs, err)
	}
	if _, err := generic.Explain(generic.Config{Fields: map[string]string{"emial": "/e"}}, body); err == nil ||
		!strings.Contains(err.Error(), "fields.emial: unknown field") {
		t.Errorf("Explain with a bad field = %v", err)
	}
	if _, err := generic.Explain(generic.Config{}, body); err == nil || !strings.Contains(err.Error(), "event_id: required") {
		t.Errorf("Explain without event id = %v", err)
	}
	if _, err := generic.Explain(generic.Config{EventID: "/id"}, []byte("nope")); err == nil {
		t.Error("Explain of a non-JSON body succeeded")
	}
}

// TestSample checks that the send-test body of every golden config maps to
// valid leads, and that a Standard Webhooks request carrying it verifies.
func TestSample(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, _ := loadCase(t, dir)
			src := newSource(t, cfg)
			body := src.Sample(testNow)
			out := parseAccepted(t, src, request(src, body))
			if strings.Contains(string(body), `"each"`) || len(out) < 10 {
				t.Errorf("sample %s mapped to %s", body, out)
			}
		})
	}
	cfg, _ := loadCase(t, filepath.Join("testdata", "golden", "appointment-scheduled"))
	cfg, err := generic.StandardWebhooks(cfg, "whsec_c2VjcmV0")
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, cfg)
	req, err := src.SignedRequest("http://127.0.0.1/webhooks/website", src.Sample(testNow), testNow)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(req.Body)
	r := &providers.Request{Source: "website", Body: buf.Bytes(), Header: req.Header, ReceivedAt: testNow}
	if err := src.Verify(context.Background(), r); err != nil {
		t.Fatalf("Verify(Sample) = %v", err)
	}
	evs, err := src.Parse(r)
	if err != nil || len(evs) != 2 || *evs[0].Lead.Person.Email == *evs[1].Lead.Person.Email || !evs[0].Lead.Test == evs[0].Lead.Test {
		t.Errorf("Parse(Sample) = %+v, %v", evs, err)
	}
	if a, b := src.Sample(testNow), src.Sample(testNow); bytes.Equal(a, b) {
		t.Error("two samples have the same event id")
	}
}

// TestFieldNames keeps FieldNames and the package's table in step with
// what the config may name.
func TestFieldNames(t *testing.T) {
	want := strings.Fields(`first_name last_name full_name email phone street postal_code city country
		preferred_contact marketing_consent intent reason message listing_id listing_external_id price_min
		price_max bedrooms_min currency areas preapproved_mortgage form agent_id agent_name agent_email
		agency_id agency_external_id office_ids negotiator_ids action entity entity_id customer_id test`)
	if strings.Join(generic.FieldNames, " ") != strings.Join(want, " ") {
		t.Errorf("FieldNames = %v", generic.FieldNames)
	}
	fields := map[string]string{}
	for _, n := range generic.FieldNames {
		fields[n] = "/" + n
	}
	if _, err := generic.New(guideConfig(fields)); err != nil {
		t.Errorf("New with every field: %v", err)
	}
}
