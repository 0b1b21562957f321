package hemnet_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

// The seed corpora live in testdata/fuzz/<Name>/ (the golden requests and
// hand-picked edge cases), so that plain `go test` replays them.

// FuzzVerify feeds arbitrary X-Signature and X-Timestamp values and bodies
// to Verify. It must never panic, must fail only with ErrBadSignature, must
// pass only when a real signature is in the header, and a body signed with
// a configured key must always pass, alone or beside garbage.
func FuzzVerify(f *testing.F) {
	f.Add("", "", []byte(nil))
	f.Add(hemnet.Sign(testKey, []byte("{}")), "1712918356462", []byte("{}"))
	src := newSource(f, 10*time.Minute, testKey, testKeyNext)
	now := strconv.FormatInt(testNow.UnixMilli(), 10)
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte) {
		ctx := context.Background()
		r := &providers.Request{Source: "hemnet", Body: body, Header: map[string][]string{
			hemnet.HeaderSignature: {sig}, hemnet.HeaderTimestamp: {ts},
		}, ReceivedAt: testReceived}
		err := src.Verify(ctx, r)
		if err != nil && !errors.Is(err, providers.ErrBadSignature) {
			t.Fatalf("Verify = %v, not ErrBadSignature", err)
		}
		lower := strings.ToLower(sig)
		if err == nil && !strings.Contains(lower, hemnet.Sign(testKey, body)) && !strings.Contains(lower, hemnet.Sign(testKeyNext, body)) {
			t.Fatalf("Verify accepted X-Signature %q without a valid signature", sig)
		}

		good := hemnet.Sign(testKey, body)
		for _, h := range []string{good, hemnet.Sign(testKeyNext, body), sig + "," + good, good + "," + sig} {
			r.Header[hemnet.HeaderSignature] = []string{h}
			r.Header[hemnet.HeaderTimestamp] = []string{now}
			if err := src.Verify(ctx, r); err != nil {
				t.Fatalf("Verify of a signed body with X-Signature %q = %v", h, err)
			}
		}
		// With a good signature, only the timestamp can fail, and it says so.
		r.Header[hemnet.HeaderSignature] = []string{good}
		r.Header[hemnet.HeaderTimestamp] = []string{ts}
		if err := src.Verify(ctx, r); err != nil && !strings.Contains(err.Error(), "imestamp") {
			t.Fatalf("Verify with a good signature = %v, not a timestamp error", err)
		}
	})
}

// FuzzParse feeds arbitrary bodies and X-Timestamp values to Parse. It must
// never panic; every event it returns must have a key, and an accepted one a
// lead that passes the lead schema; and it must be a pure function of the
// request, as replay relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"type":"CONTACT","action":"CREATE","data":{"id":"x"}}`), "1712918356462")
	src := newSource(f, 0)
	f.Fuzz(func(t *testing.T, body []byte, ts string) {
		r := request(body)
		r.Header.Set(hemnet.HeaderTimestamp, ts)
		evs, err := src.Parse(r)
		if err != nil {
			if evs != nil {
				t.Fatalf("Parse returned events with error %v", err)
			}
			return
		}
		if len(evs) != 1 {
			t.Fatalf("Parse returned %d events", len(evs))
		}
		ev := evs[0]
		if ev.Key == "" {
			t.Fatal("event without Key")
		}
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
			again, err := src.Parse(r)
			if err != nil {
				t.Fatalf("second Parse: %v", err)
			}
			if wire2, _ := again[0].Lead.Marshal(); !bytes.Equal(wire, wire2) {
				t.Fatalf("Parse is not deterministic:\n%s\n%s", wire, wire2)
			}
		case lead.StatusQuarantined:
			if ev.Reason == "" || ev.Lead != nil || strings.ContainsAny(ev.Reason, "\n\r") || len(ev.Reason) > 200 {
				t.Fatalf("quarantined event malformed: %+v", ev)
			}
		default:
			t.Fatalf("unexpected status %q", ev.Status)
		}
	})
}
