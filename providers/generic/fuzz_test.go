package generic_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
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

// The seed corpora live in testdata/fuzz/<Name>/ (the golden requests,
// the Standard Webhooks vector and hand-picked edge cases), so that plain
// `go test` replays them.

// fuzzSchemes are the signature schemes FuzzVerify picks from: the guide's,
// Standard Webhooks, a prefixed base64 SHA-512 one and a bare hex one, each
// with two secrets and a window.
func fuzzSchemes(t testing.TB) []*generic.Source {
	t.Helper()
	guide := guideConfig(nil)
	guide.Secrets = [][]byte{testSecret, testSecretNext}
	sw, err := generic.StandardWebhooks(guideConfig(nil), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2Vjb25k")
	if err != nil {
		t.Fatal(err)
	}
	sw.EventID = ""
	b64 := guide
	b64.Prefix, b64.Encoding, b64.Algorithm, b64.Signed, b64.TimestampUnit = "sha512=", "base64", "sha512", generic.SignedTimestampDot, "ms"
	bare := guide
	bare.Signed, bare.TimestampUnit = generic.SignedBody, "rfc3339"
	var out []*generic.Source
	for _, c := range []generic.Config{guide, sw, b64, bare} {
		out = append(out, newSource(t, c))
	}
	return out
}

// fuzzSecrets are the secrets of each fuzz scheme, decoded.
var fuzzSecrets = [][][]byte{
	{testSecret, testSecretNext},
	{mustStd("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), []byte("second")},
	{testSecret, testSecretNext},
	{testSecret, testSecretNext},
}

func mustStd(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzVerify feeds arbitrary signature, timestamp and id headers and bodies
// to Verify under each scheme. It must never panic, must fail only with
// ErrBadSignature, must pass only when the header holds a real signature
// (checked by an independent decoder), and a body signed with a configured
// secret must always pass, alone or before garbage.
func FuzzVerify(f *testing.F) {
	f.Add("", "", "", []byte(nil), uint8(0))
	schemes := fuzzSchemes(f)
	f.Fuzz(func(t *testing.T, sig, ts, id string, body []byte, scheme uint8) {
		i := int(scheme) % len(schemes)
		s := schemes[i]
		hs := []string{hdrSig, hdrTS, hdrID}
		if i == 1 {
			hs = []string{"webhook-signature", "webhook-timestamp", "webhook-id"}
		}
		r := &providers.Request{Body: body, Header: http.Header{}, ReceivedAt: testNow}
		set := func(sig, ts, id string) {
			r.Header[http.CanonicalHeaderKey(hs[0])] = []string{sig}
			r.Header[http.CanonicalHeaderKey(hs[1])] = []string{ts}
			r.Header[http.CanonicalHeaderKey(hs[2])] = []string{id}
		}
		set(sig, ts, id)
		err := s.Verify(context.Background(), r)
		if err != nil && !errors.Is(err, providers.ErrBadSignature) {
			t.Fatalf("Verify = %v, not ErrBadSignature", err)
		}
		if err == nil && !holdsValidSignature(i, sig, strings.TrimSpace(ts), strings.TrimSpace(id), body) {
			t.Fatalf("Verify accepted %q without a valid signature", sig)
		}

		now := nowIn(i)
		for _, k := range []int{0, 1} {
			good := signAs(i, fuzzSecrets[i][k], id, now, body)
			for _, h := range []string{good, good + " " + sig} {
				set(h, now, id)
				if strings.TrimSpace(id) == "" && i == 1 {
					continue // Standard Webhooks signs the id: none, no pass
				}
				if err := s.Verify(context.Background(), r); err != nil && !strings.ContainsAny(id, "\r\n") {
					t.Fatalf("Verify of a signed body (secret %d, header %q, id %q) = %v", k, h, id, err)
				}
			}
		}
		// Signed over the fuzzed timestamp, only the clock can fail.
		set(signAs(i, fuzzSecrets[i][0], "x", ts, body), ts, "x")
		if err := s.Verify(context.Background(), r); err != nil && !strings.Contains(err.Error(), "imestamp") {
			t.Fatalf("Verify with a signature over timestamp %q = %v, not a timestamp error", ts, err)
		}
	})
}

// nowIn is testNow in scheme i's timestamp unit.
func nowIn(i int) string {
	switch i {
	case 2:
		return strconv.FormatInt(testNow.UnixMilli(), 10)
	case 3:
		return testNow.Format(time.RFC3339)
	}
	return strconv.FormatInt(testNow.Unix(), 10)
}

// signAs signs as scheme i would, written out here rather than through the
// package, so that the fuzz test checks the package against a second
// implementation.
func signAs(i int, secret []byte, id, ts string, body []byte) string {
	id, ts = strings.TrimSpace(id), strings.TrimSpace(ts)
	switch i {
	case 0:
		return hex.EncodeToString(mac(sha256.New, secret, ts+string(body)))
	case 1:
		return "v1," + base64.StdEncoding.EncodeToString(mac(sha256.New, secret, id+"."+ts+"."+string(body)))
	case 2:
		return "sha512=" + base64.StdEncoding.EncodeToString(mac(sha512.New, secret, ts+"."+string(body)))
	}
	return hex.EncodeToString(mac(sha256.New, secret, string(body)))
}

func mac(h func() hash.Hash, secret []byte, msg string) []byte {
	m := hmac.New(h, secret)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// holdsValidSignature reports whether one of the first 16 entries of header
// decodes to the MAC of scheme i under one of its secrets.
func holdsValidSignature(i int, header, ts, id string, body []byte) bool {
	prefix := map[int]string{1: "v1,", 2: "sha512="}[i]
	sep := func(r rune) bool { return r == ' ' || r == '\t' || r == ',' && i != 1 }
	items := strings.FieldsFunc(header, sep)
	if len(items) > 16 {
		items = items[:16]
	}
	for _, secret := range fuzzSecrets[i] {
		want := signAs(i, secret, id, ts, body)
		wantMAC := decodeAny(strings.TrimPrefix(want, prefix))
		for _, it := range items {
			if len(it) < len(prefix) || !strings.EqualFold(it[:len(prefix)], prefix) {
				continue
			}
			if got := decodeAny(it[len(prefix):]); got != nil && bytes.Equal(got, wantMAC) {
				return true
			}
		}
	}
	return false
}

func decodeAny(s string) []byte {
	if b, err := hex.DecodeString(s); err == nil && len(s) >= 64 {
		return b
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b
		}
	}
	return nil
}

// FuzzParse feeds arbitrary bodies and timestamp headers to Parse under the
// mapping of each golden case. It must never panic; an error comes without
// events; every event has a distinct key and a valid status, an accepted one
// a lead that passes the lead schema; and Parse is a pure function of the
// request, as replay relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"id":"e"}`), "1686838800", uint8(0))
	dirs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil || len(dirs) == 0 {
		f.Fatalf("no golden cases: %v", err)
	}
	var sources []*generic.Source
	for _, dir := range dirs {
		cfg, _ := loadCase(f, dir)
		sources = append(sources, newSource(f, cfg))
	}
	f.Fuzz(func(t *testing.T, body []byte, ts string, variant uint8) {
		src := sources[int(variant)%len(sources)]
		r := request(src, body)
		r.Header.Set(hdrTS, ts)
		evs, err := src.Parse(r)
		if err != nil {
			if evs != nil {
				t.Fatalf("Parse returned events with error %v", err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > generic.MaxEach {
			t.Fatalf("Parse returned %d events", len(evs))
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
	case lead.StatusIgnored:
		if ev.Reason == "" || ev.Lead != nil || strings.ContainsAny(ev.Reason, "\n\r") || len(ev.Reason) > 300 {
			t.Fatalf("ignored event malformed: %+v", ev)
		}
	default:
		t.Fatalf("unexpected status %q", ev.Status)
	}
}

// FuzzPointer parses arbitrary pointers and evaluates them against
// arbitrary documents. ParsePointer must accept exactly what the config
// checker accepts, a parsed pointer must print back as written and rebuild
// from its tokens, and Lookup must never panic and agree with a walk of
// the document one token at a time.
func FuzzPointer(f *testing.F) {
	f.Add("/foo/0", []byte(`{"foo":["bar"]}`))
	f.Fuzz(func(t *testing.T, ptr string, doc []byte) {
		p, err := generic.ParsePointer(ptr)
		if (err == nil) != checkerAccepts(ptr) {
			t.Fatalf("ParsePointer(%q) = %v; the config checker disagrees", ptr, err)
		}
		if err != nil {
			return
		}
		if p.String() != ptr || generic.PointerFrom(p.Tokens()...).String() != ptr {
			t.Fatalf("pointer %q prints as %q, rebuilds as %q", ptr, p.String(), generic.PointerFrom(p.Tokens()...))
		}
		d := json.NewDecoder(bytes.NewReader(doc))
		d.UseNumber()
		var v any
		if d.Decode(&v) != nil {
			return
		}
		got, ok := p.Lookup(v)
		tokens := p.Tokens()
		cur, curOK := v, true
		for _, tok := range tokens {
			cur, curOK = generic.PointerFrom(tok).Lookup(cur)
			if !curOK {
				break
			}
		}
		if ok != curOK {
			t.Fatalf("Lookup(%q) found=%v, token walk found=%v", ptr, ok, curOK)
		}
		if ok {
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(cur)
			if !bytes.Equal(a, b) {
				t.Fatalf("Lookup(%q) = %s, token walk = %s", ptr, a, b)
			}
		}
	})
}

// checkerAccepts is the rule of sync/config's pointer check: empty, or
// starting with "/" with every "~" followed by 0 or 1.
func checkerAccepts(p string) bool {
	if p == "" {
		return true
	}
	ok := strings.HasPrefix(p, "/")
	for i := 0; ok && i < len(p); i++ {
		if p[i] == '~' {
			ok = i+1 < len(p) && (p[i+1] == '0' || p[i+1] == '1')
		}
	}
	return ok
}
