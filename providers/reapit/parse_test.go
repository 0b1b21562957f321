package reapit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/reapit"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/{event,lead}.json from the current mapping")

// TestGolden maps each testdata/golden/<case>/request.json, signed and
// verified as Reapit would send it, with staticConfig (topics: both
// applicant topics and contacts.modified; customers OXF, RPT, SBOX), and
// compares the event (status, reason, keys split at their separator,
// version) with event.json and the lead, if any, with lead.json. Run with
// -update to rewrite them.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	src := newSource(t, staticConfig())
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := request(readFile(t, filepath.Join(dir, "request.json")))
			if err := src.Verify(context.Background(), r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			evs, err := src.Parse(r)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(evs) != 1 {
				t.Fatalf("Parse gave %d events, want 1", len(evs))
			}
			ev := evs[0]
			checkEvent(t, ev)
			golden(t, filepath.Join(dir, "event.json"), summary(t, ev))
			leadFile := filepath.Join(dir, "lead.json")
			if ev.Lead == nil {
				if _, err := os.Stat(leadFile); err == nil && !*update {
					t.Errorf("no lead, but %s exists", leadFile)
				}
				os.Remove(leadFile)
				return
			}
			golden(t, leadFile, indent(t, ev.Lead))
		})
	}
}

// checkEvent checks what every event must satisfy whatever its case.
func checkEvent(t *testing.T, ev lead.Event) {
	t.Helper()
	if ev.Key == "" {
		t.Fatal("event without Key")
	}
	switch ev.Status {
	case lead.StatusAccepted:
		if ev.Lead == nil || ev.EntityKey == "" || ev.Lead.ID != lead.LeadID(ev.EntityKey) || ev.Lead.EventID != lead.EventID(ev.Key) {
			t.Fatalf("accepted event incomplete: %+v", ev)
		}
		wire, err := ev.Lead.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		leadtest.Validate(t, wire)
	case lead.StatusIgnored, lead.StatusQuarantined:
		if ev.Lead != nil || ev.Reason == "" || strings.ContainsAny(ev.Reason, "\r\n") || len(ev.Reason) > 200 {
			t.Fatalf("%s event malformed: %+v", ev.Status, ev)
		}
	default:
		t.Fatalf("status %q", ev.Status)
	}
}

// summary renders an event's identity for event.json.
func summary(t *testing.T, ev lead.Event) []byte {
	split := func(k string) []string {
		if k == "" {
			return nil
		}
		return strings.Split(k, "\x00")
	}
	s := struct {
		Status     string   `json:"status"`
		Reason     string   `json:"reason,omitempty"`
		Key        []string `json:"key"`
		VersionKey []string `json:"version_key"`
		EntityKey  []string `json:"entity_key"`
		Version    string   `json:"version,omitempty"`
	}{ev.Status, ev.Reason, split(ev.Key), split(ev.VersionKey), split(ev.EntityKey), ""}
	if !ev.Version.IsZero() {
		s.Version = ev.Version.Format(time.RFC3339Nano)
	}
	return indent(t, s)
}

// indent is JSON for a golden file: indented, & and < kept readable.
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

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := readFile(t, path); !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUnmappableBodyIsAnError(t *testing.T) {
	src := newSource(t, staticConfig())
	for body, want := range map[string]string{
		``:                                 "decode body",
		`not json`:                         "decode body",
		`[]`:                               "decode body",
		`{}`:                               "no topicId",
		`{"customerId":"OXF"}`:             "no topicId",
		`{"topicId":"applicants.created"}`: "no customerId",
		`{"topicId":5,"customerId":"OXF"}`: "decode body",
		`{"topicId":"applicants.created","customerId":"OXF"} {}`: "decode body",
	} {
		evs, err := src.Parse(request([]byte(body)))
		if err == nil || evs != nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %+v, %v; want error containing %q", body, evs, err, want)
		}
	}
}

// TestDefaultTopicsAndAllCustomers: with no topics and no customers
// configured, both applicant topics of every customer are leads and any
// other topic is ignored.
func TestDefaultTopicsAndAllCustomers(t *testing.T) {
	cfg := staticConfig()
	cfg.Topics, cfg.Customers = nil, nil
	src := newSource(t, cfg)
	for body, want := range map[string]string{
		`{"topicId":"applicants.created","customerId":"ANY","entityId":"A1","new":{"id":"A1"}}`:  lead.StatusAccepted,
		`{"topicId":"applicants.modified","customerId":"ANY","entityId":"A1","new":{"id":"A1"}}`: lead.StatusAccepted,
		`{"topicId":"contacts.modified","customerId":"ANY","entityId":"C1","new":{"id":"C1"}}`:   lead.StatusIgnored,
	} {
		evs, err := src.Parse(request([]byte(body)))
		if err != nil || evs[0].Status != want {
			t.Errorf("Parse(%s) = %+v, %v; want %s", body, evs, err, want)
		}
	}
}

// TestParseIsPure: parsing the same request twice gives the same events,
// as replay relies on.
func TestParseIsPure(t *testing.T) {
	src := newSource(t, staticConfig())
	r := request(reapit.Sample("OXF200060", "OXF"))
	a, err1 := src.Parse(r)
	b, err2 := src.Parse(r)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if !bytes.Equal(aj, bj) {
		t.Errorf("two parses differ:\n%s\n%s", aj, bj)
	}
}

// TestSample checks that the CLI's sample is a real Reapit body: signed by
// SignedRequest it verifies with the legacy scheme and maps to a valid
// created lead for the given id and customer.
func TestSample(t *testing.T) {
	cfg := reapit.Config{Name: "reapit", Signature: reapit.SignatureLegacy, ClientID: "demo-reapit-client"}
	src := newSource(t, cfg)
	req, err := reapit.SignedRequest("http://127.0.0.1:8080/webhooks/reapit", reapit.Sample(`id "q"`, ""), "demo-reapit-client")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get(reapit.HeaderLegacySignature) != "ZGVtby1yZWFwaXQtY2xpZW50" {
		t.Errorf("request = %s %v", req.Method, req.Header)
	}
	body, _ := io.ReadAll(req.Body)
	r := &providers.Request{Source: "reapit", Body: body, Header: req.Header, ReceivedAt: time.Now()}
	if err := src.Verify(context.Background(), r); err != nil {
		t.Fatalf("Verify(SignedRequest) = %v", err)
	}
	evs, err := src.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	checkEvent(t, evs[0])
	l := evs[0].Lead
	if l.Source.EntityID != `id "q"` || *l.Source.CustomerID != "SBOX" || !l.Test || l.Action != lead.ActionCreated ||
		*l.Person.FullName != "Mr John Smith" || evs[0].VersionKey == "" || evs[0].Version.IsZero() {
		t.Errorf("sample lead = %+v", l)
	}
	a, b := reapit.Sample("", "OXF"), reapit.Sample("", "OXF")
	ea, _ := src.Parse(&providers.Request{Body: a, ReceivedAt: time.Now()})
	eb, _ := src.Parse(&providers.Request{Body: b, ReceivedAt: time.Now()})
	if ea[0].EntityKey == eb[0].EntityKey || ea[0].Key == eb[0].Key || ea[0].Lead.Test {
		t.Error(`Sample("", "OXF") twice gave the same applicant, or a test lead`)
	}
	if _, err := reapit.SignedRequest("://bad", a, "x"); err == nil {
		t.Error("SignedRequest accepted a bad URL")
	}
}

func TestSignEd25519(t *testing.T) {
	body := []byte(`{"a":1}`)
	got := reapit.SignEd25519(testPriv, "kid-1", time.Unix(1700000000, 0), body)
	parts := strings.Split(got, ":")
	if len(parts) != 4 || parts[0] != "s" || parts[1] != "kid-1" || parts[2] != "1700000000" || len(parts[3]) != 86 {
		t.Fatalf("SignEd25519 = %q", got)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || !ed25519.Verify(testPub, append([]byte("1700000000"), body...), sig) {
		t.Errorf("signature does not verify: %v", err)
	}
}
