package rechat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/rechat"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

// The seed corpora live in testdata/fuzz/<Name>/ (the golden requests and
// hand-picked edge cases), so that plain `go test` replays them.

// FuzzVerify feeds arbitrary X-RECHAT-SIGNATURE values and bodies to Verify.
// It must never panic, must fail only with ErrBadSignature, must pass only
// when a real signature is in the header, and a body signed with either
// configured key must always pass, alone or before garbage.
func FuzzVerify(f *testing.F) {
	f.Add("", []byte(nil))
	s, err := rechat.New(rechat.Config{Name: "rechat", Key: testKey, ExtraKeys: []string{testKeyOther}})
	if err != nil {
		f.Fatal(err)
	}
	hdr := http.CanonicalHeaderKey(rechat.HeaderSignature) // as net/http stores it
	f.Fuzz(func(t *testing.T, sig string, body []byte) {
		r := &providers.Request{Source: "rechat", Body: body, Header: http.Header{hdr: {sig}}, ReceivedAt: testReceived}
		err := s.Verify(context.Background(), r)
		if err != nil && !errors.Is(err, providers.ErrBadSignature) {
			t.Fatalf("Verify = %v, not ErrBadSignature", err)
		}
		good, _ := rechat.Sign(testKey, body)
		other, _ := rechat.Sign(testKeyOther, body)
		lower := strings.ToLower(sig)
		if err == nil && !strings.Contains(lower, good) && !strings.Contains(lower, other) {
			t.Fatalf("Verify accepted %q without a valid signature", sig)
		}
		for _, h := range []string{good, other, good + "," + sig, strings.ToUpper(other)} {
			r.Header[hdr] = []string{h}
			if err := s.Verify(context.Background(), r); err != nil {
				t.Fatalf("Verify of a signed body with %q = %v", h, err)
			}
		}
	})
}

// FuzzParse feeds arbitrary bodies to Parse. It must never panic; an error
// comes without events; every event has a distinct key and a valid status,
// an accepted one a lead that passes the lead schema, an ignored or
// quarantined one a one-line reason; and Parse is a pure function of the
// request, as replay relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"topic":"contacts","event":"create","timestamp":1,"payload":{"data":[{"id":"c"}]}}`))
	src := newSource(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := request(t, body)
		evs, err := src.Parse(r)
		if err != nil {
			if evs != nil {
				t.Fatalf("Parse returned events with error %v", err)
			}
			return
		}
		if len(evs) == 0 {
			t.Fatal("Parse returned no events and no error")
		}
		keys := map[string]bool{}
		for _, ev := range evs {
			checkEvent(t, ev, keys)
		}
		again, err := src.Parse(r)
		if err != nil || len(again) != len(evs) {
			t.Fatalf("second Parse = %d events, %v", len(again), err)
		}
		for i := range evs {
			a, _ := json.Marshal(evs[i])
			b, _ := json.Marshal(again[i])
			if !bytes.Equal(a, b) {
				t.Fatalf("Parse is not deterministic:\n%s\n%s", a, b)
			}
		}
	})
}

func checkEvent(t *testing.T, ev lead.Event, keys map[string]bool) {
	t.Helper()
	if ev.Key == "" || keys[ev.Key] {
		t.Fatalf("event key %q empty or repeated", ev.Key)
	}
	keys[ev.Key] = true
	switch ev.Status {
	case lead.StatusAccepted:
		if ev.Lead == nil || ev.EntityKey == "" || ev.Lead.ID == "" || ev.Lead.EventID == "" {
			t.Fatalf("accepted event incomplete: %+v", ev)
		}
		wire, err := ev.Lead.Marshal()
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		leadtest.Validate(t, wire)
	case lead.StatusIgnored, lead.StatusQuarantined:
		if ev.Reason == "" || ev.Lead != nil || strings.ContainsAny(ev.Reason, "\n\r") || len(ev.Reason) > 300 {
			t.Fatalf("%s event malformed: %+v", ev.Status, ev)
		}
	default:
		t.Fatalf("unexpected status %q", ev.Status)
	}
}
