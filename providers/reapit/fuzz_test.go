package reapit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/reapit"
	"github.com/leadsync/leadsync/sync/lead"
)

// The seed corpora live in testdata/fuzz/<Name>/ (the golden requests and
// hand-picked edge cases), so that plain `go test` replays them.

// FuzzVerify feeds arbitrary X-Signature and Reapit-Webhook-Signature
// values and bodies to a source in "any" mode that knows one key and cannot
// fetch. It must never panic; it must fail only with ErrBadSignature; it
// must pass only when the legacy header is right or X-Signature really
// signs the body (checked here independently); and a body signed with the
// key must always pass, beside any legacy header.
func FuzzVerify(f *testing.F) {
	f.Add("", "", []byte(nil))
	f.Add(reapit.SignEd25519(testPriv, testKid, testNow, []byte("{}")), "", []byte("{}"))
	cfg := staticConfig()
	cfg.Signature, cfg.ClientID = reapit.SignatureAny, testClientID
	src := newSource(f, cfg)
	legacy := reapit.LegacySignature(testClientID)
	f.Fuzz(func(t *testing.T, xsig, legacyHeader string, body []byte) {
		ctx := context.Background()
		r := requestSigned(body, "")
		r.Header[reapit.HeaderSignature] = []string{xsig}
		r.Header[reapit.HeaderLegacySignature] = []string{legacyHeader}
		err := src.Verify(ctx, r)
		if err != nil && !errors.Is(err, providers.ErrBadSignature) {
			t.Fatalf("Verify = %v, not ErrBadSignature", err)
		}
		if err == nil && strings.TrimSpace(legacyHeader) != legacy && !reallySigned(xsig, body) {
			t.Fatalf("Verify accepted X-Signature %q, legacy %q", xsig, legacyHeader)
		}
		r.Header[reapit.HeaderSignature] = []string{reapit.SignEd25519(testPriv, testKid, testNow, body)}
		if err := src.Verify(ctx, r); err != nil {
			t.Fatalf("Verify of a signed body beside legacy %q = %v", legacyHeader, err)
		}
	})
}

// reallySigned is an independent check of X-Signature: testKid, a
// timestamp within ten minutes of testNow, and an Ed25519 signature by
// testPriv over it and the body, in any base64 spelling.
func reallySigned(xsig string, body []byte) bool {
	parts := strings.Split(strings.TrimSpace(xsig), ":")
	if len(parts) != 4 || parts[0] != "s" || parts[1] != testKid {
		return false
	}
	secs, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || secs < testNow.Add(-10*time.Minute).Unix() || secs > testNow.Add(10*time.Minute).Unix() {
		return false
	}
	sig := strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(parts[3], "="))
	raw, err := base64.RawStdEncoding.DecodeString(sig)
	return err == nil && ed25519.Verify(testPub, append([]byte(parts[2]), body...), raw)
}

// FuzzParse feeds arbitrary bodies to Parse. It must never panic; an error
// comes without events; otherwise there is exactly one event, with a key,
// and an accepted one carries a lead that passes the lead schema; and Parse
// must be a pure function of the request, as replay relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"topicId":"applicants.created","customerId":"OXF","entityId":"A1","new":{"id":"A1"}}`))
	src := newSource(f, staticConfig())
	f.Fuzz(func(t *testing.T, body []byte) {
		r := request(body)
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
		checkEvent(t, evs[0])
		again, err := src.Parse(r)
		if err != nil || len(again) != 1 {
			t.Fatalf("second Parse: %v", err)
		}
		if a, b := summary(t, evs[0]), summary(t, again[0]); !bytes.Equal(a, b) {
			t.Fatalf("Parse is not deterministic:\n%s\n%s", a, b)
		}
		if evs[0].Status == lead.StatusAccepted {
			w1, _ := evs[0].Lead.Marshal()
			w2, _ := again[0].Lead.Marshal()
			if !bytes.Equal(w1, w2) {
				t.Fatalf("Parse is not deterministic:\n%s\n%s", w1, w2)
			}
		}
	})
}
