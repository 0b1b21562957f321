package hemnet_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*/lead.json from the current mapping")

// TestGolden maps each testdata/golden/<case>/request.json, signed and
// verified as Hemnet would send it, and compares the lead with lead.json.
// headers.json, when present, replaces the default X-Timestamp and
// X-Request-Id (an object of header: value). Run with -update to rewrite.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	src := newSource(t, 0)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			body := readFile(t, filepath.Join(dir, "request.json"))
			r := request(body)
			if hb, err := os.ReadFile(filepath.Join(dir, "headers.json")); err == nil {
				var h map[string]string
				if err := json.Unmarshal(hb, &h); err != nil {
					t.Fatalf("headers.json: %v", err)
				}
				r.Header.Del(hemnet.HeaderTimestamp)
				r.Header.Del(hemnet.HeaderRequestID)
				for k, v := range h {
					r.Header.Set(k, v)
				}
			}
			if err := src.Verify(context.Background(), r); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			got := parseOne(t, src, r)
			golden := filepath.Join(dir, "lead.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := readFile(t, golden); !bytes.Equal(got, want) {
				t.Errorf("lead differs from %s (run go test -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// parseOne parses r, expects one accepted event, checks it against the lead
// schema and returns its lead as indented JSON for a golden file.
func parseOne(t *testing.T, src *hemnet.Source, r *providers.Request) []byte {
	t.Helper()
	evs, err := src.Parse(r)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(evs) != 1 || evs[0].Status != lead.StatusAccepted || evs[0].Lead == nil {
		t.Fatalf("Parse = %+v, want one accepted event", evs)
	}
	ev := evs[0]
	if want := lead.Key("hemnet", "contact", ev.Lead.Source.EntityID); ev.Key != want || ev.EntityKey != want {
		t.Errorf("Key, EntityKey = %q, %q; want %q", ev.Key, ev.EntityKey, want)
	}
	wire, err := ev.Lead.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	leadtest.Validate(t, wire)
	// Golden files keep & and < readable; the wire form escapes them.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ev.Lead); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEscapedAmpersand is the point of verifying raw bytes: Hemnet signs
// "\u0026", the lead must say "&", and a body re-encoded with a literal &
// must not pass as the signed one.
func TestEscapedAmpersand(t *testing.T) {
	body := []byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"a1","message":"Villa \u0026 garden","firstName":"Anna \u0026 Per","contactPreference":"EMAIL","recipientType":"BROKER","source":"LISTING_FOR_SALE_CONTACT_FORM"}}`)
	src := newSource(t, 0)
	r := request(body)
	if err := src.Verify(context.Background(), r); err != nil {
		t.Fatalf("Verify over the escaped bytes: %v", err)
	}
	evs, err := src.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	p := evs[0].Lead
	if *p.Interest.Message != "Villa & garden" || *p.Person.FirstName != "Anna & Per" || *p.Person.FullName != "Anna & Per" {
		t.Errorf("message, first name = %q, %q; want & decoded", *p.Interest.Message, *p.Person.FirstName)
	}
	decoded := bytes.ReplaceAll(body, []byte(`\u0026`), []byte("&"))
	r2 := request(body)
	r2.Body = decoded // signature still over the escaped bytes
	if err := src.Verify(context.Background(), r2); err == nil {
		t.Error("Verify accepted a body whose escapes were decoded after signing")
	}
}

func TestUnsupportedEventIsQuarantined(t *testing.T) {
	src := newSource(t, 0)
	for _, body := range []string{
		`{"type":"CONTACT","action":"UPDATE","data":{"id":"x"}}`,
		`{"type":"LISTING","action":"CREATE","data":{}}`,
		`{"type":"contact","action":"create","data":{"id":"x"}}`,
	} {
		evs, err := src.Parse(request([]byte(body)))
		if err != nil {
			t.Fatalf("Parse(%s): %v", body, err)
		}
		var env struct{ Type, Action string }
		_ = json.Unmarshal([]byte(body), &env)
		sum := sha256.Sum256([]byte(body))
		want := lead.Event{
			Key:    lead.Key("hemnet", "raw", hex.EncodeToString(sum[:])),
			Status: lead.StatusQuarantined,
			Reason: "unsupported event " + env.Type + "/" + env.Action,
		}
		if len(evs) != 1 || evs[0].Key != want.Key || evs[0].Status != want.Status ||
			evs[0].Reason != want.Reason || evs[0].Lead != nil || evs[0].EntityKey != "" {
			t.Errorf("Parse(%s) = %+v, want [%+v]", body, evs, want)
		}
	}
}

func TestUnmappableBodyIsAnError(t *testing.T) {
	src := newSource(t, 0)
	for body, want := range map[string]string{
		``:                                     "decode body",
		`not json`:                             "decode body",
		`[]`:                                   "decode body",
		`{}`:                                   "no type or action",
		`{"type":"CONTACT"}`:                   "no type or action",
		`{"type":"CONTACT","action":"CREATE"}`: "no data",
		`{"type":"CONTACT","action":"CREATE","data":null}`:          "no id",
		`{"type":"CONTACT","action":"CREATE","data":{}}`:            "no id",
		`{"type":"CONTACT","action":"CREATE","data":{"id":""}}`:     "no id",
		`{"type":"CONTACT","action":"CREATE","data":{"id":null}}`:   "no id",
		`{"type":"CONTACT","action":"CREATE","data":{"id":true}}`:   "want a string or a number",
		`{"type":"CONTACT","action":"CREATE","data":{"id":{}}}`:     "want a string or a number",
		`{"type":"CONTACT","action":"CREATE","data":"x"}`:           "decode data",
		`{"type":"CONTACT","action":"CREATE","data":{"email":5}}`:   "decode data",
		`{"type":"CONTACT","action":"CREATE","data":{"id":"a"}} {}`: "decode body",
	} {
		evs, err := src.Parse(request([]byte(body)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %+v, %v; want error containing %q", body, evs, err, want)
		}
	}
}

// TestNumericIDs pins the conversion of numeric ids: digit for digit, never
// through float64.
func TestNumericIDs(t *testing.T) {
	body := []byte(`{"type":"CONTACT","action":"CREATE","data":{"id":123456789012345678901234567890,` +
		`"listing":{"id":1e6,"externalId":-0.5},"brokerAgency":{"id":9007199254740993,"externalId":0}}}`)
	evs, err := newSource(t, 0).Parse(request(body))
	if err != nil {
		t.Fatal(err)
	}
	l := evs[0].Lead
	for got, want := range map[string]string{
		l.Source.EntityID:               "123456789012345678901234567890",
		*l.Interest.Listing.ID:          "1e6",
		*l.Interest.Listing.ExternalID:  "-0.5",
		*l.Assignment.Agency.ID:         "9007199254740993",
		*l.Assignment.Agency.ExternalID: "0",
	} {
		if got != want {
			t.Errorf("id = %q, want %q", got, want)
		}
	}
}

// TestSample checks that the CLI's sample is a real Hemnet body: it verifies
// with its signature and maps to a valid lead with the given id.
func TestSample(t *testing.T) {
	src := newSource(t, 0)
	body := hemnet.Sample(`id "quoted"`)
	got := parseOne(t, src, request(body))
	var l lead.Lead
	if err := json.Unmarshal(got, &l); err != nil {
		t.Fatal(err)
	}
	if l.Source.EntityID != `id "quoted"` || !strings.Contains(*l.Interest.Message, "&") {
		t.Errorf("sample lead = %s", got)
	}
	a, b := hemnet.Sample(""), hemnet.Sample("")
	if bytes.Equal(a, b) {
		t.Error(`Sample("") twice gave the same id`)
	}
}

// A contact from Hemnet's sandbox addresses is test data; from production's,
// or anywhere else, it is not.
func TestSandboxLeadsAreTest(t *testing.T) {
	src := newSource(t, 0)
	body := []byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"sbx-1","email":"a@example.se"}}`)
	for ip, want := range map[string]bool{"34.252.42.223": true, "::ffff:54.72.180.48": true,
		"52.215.23.149": false, "127.0.0.1": false, "": false} {
		r := request(body)
		if ip != "" {
			r.RemoteIP = netip.MustParseAddr(ip)
		}
		evs, err := src.Parse(r)
		if err != nil || len(evs) != 1 || evs[0].Lead.Test != want {
			t.Errorf("from %q: %+v, %v; want test %v", ip, evs, err, want)
		}
	}
}
