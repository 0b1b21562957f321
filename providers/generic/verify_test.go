package generic_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/generic"
)

var testBody = []byte(`{"id":"evt_1","type":"user.registered","created":"2023-06-15T14:19:00Z","data":{"email":"a@example.com"}}`)

// checkReason checks that err is nil when reason is empty, and otherwise a
// providers.ErrBadSignature whose message gives reason and leaks no secret.
func checkReason(t *testing.T, err error, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("Verify = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, providers.ErrBadSignature) {
		t.Fatalf("Verify = %v, want ErrBadSignature", err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("Verify = %q, want reason %q", err, reason)
	}
	for _, s := range [][]byte{testSecret, testSecretNext} {
		if strings.Contains(err.Error(), string(s)) || strings.Contains(err.Error(), hex.EncodeToString(s)) {
			t.Errorf("error %q contains a secret", err)
		}
	}
}

// TestVerifyEverySchemeCombination signs with every template, encoding,
// algorithm and prefix, and checks that the signature passes and that
// changing any signed part (body, timestamp, id) makes it fail.
func TestVerifyEverySchemeCombination(t *testing.T) {
	templates := []string{generic.SignedBody, generic.SignedTimestampBody, generic.SignedTimestampDot, generic.SignedIDTimestampDot}
	for _, signed := range templates {
		for _, enc := range []string{generic.EncodingHex, generic.EncodingBase64} {
			for _, alg := range []string{generic.AlgorithmSHA256, generic.AlgorithmSHA512} {
				for _, prefix := range []string{"", "sha256=", "v1,"} {
					name := strings.Join([]string{signed, enc, alg, prefix}, " ")
					t.Run(name, func(t *testing.T) {
						cfg := guideConfig(nil)
						cfg.Signed, cfg.Encoding, cfg.Algorithm, cfg.Prefix, cfg.IDHeader = signed, enc, alg, prefix, hdrID
						s := newSource(t, cfg)
						r := request(s, testBody)
						checkReason(t, s.Verify(context.Background(), r), "")

						r2 := request(s, testBody)
						r2.Body = append(bytes.Clone(testBody), ' ')
						checkReason(t, s.Verify(context.Background(), r2), "matches no configured key")
						if strings.Contains(signed, "{timestamp}") {
							r3 := request(s, testBody)
							r3.Header.Set(hdrTS, strconv.FormatInt(testNow.Unix()+1, 10))
							checkReason(t, s.Verify(context.Background(), r3), "matches no configured key")
						}
						if strings.Contains(signed, "{id}") {
							r4 := request(s, testBody)
							r4.Header.Set(hdrID, "msg_2")
							checkReason(t, s.Verify(context.Background(), r4), "matches no configured key")
						}
					})
				}
			}
		}
	}
}

func TestVerifySignatureHeader(t *testing.T) {
	s := newSource(t, guideConfig(nil))
	ts := strconv.FormatInt(testNow.Unix(), 10)
	good := s.Sign("", ts, testBody)
	next := newSource(t, withSecrets(guideConfig(nil), testSecretNext)).Sign("", ts, testBody)
	other := newSource(t, withSecrets(guideConfig(nil), []byte("someone else"))).Sign("", ts, testBody)
	many := strings.Repeat(other+",", 16) + good
	cases := []struct {
		name    string
		secrets [][]byte
		prefix  string
		header  []string // signature header lines; nil = absent
		reason  string
	}{
		{name: "good", header: []string{good}},
		{name: "uppercase hex", header: []string{strings.ToUpper(good)}},
		{name: "wrong secret", header: []string{other}, reason: "X-Webhook-Signature: signature matches no configured key"},
		{name: "rotation: second secret signs", secrets: [][]byte{testSecret, testSecretNext}, header: []string{next}},
		{name: "rotation: first secret signs", secrets: [][]byte{testSecret, testSecretNext}, header: []string{good}},
		{name: "rotation: neither", secrets: [][]byte{testSecret, testSecretNext}, header: []string{other}, reason: "matches no configured key"},
		{name: "two signatures, comma", secrets: [][]byte{testSecretNext}, header: []string{good + "," + next}},
		{name: "two signatures, space", secrets: [][]byte{testSecretNext}, header: []string{good + " " + next}},
		{name: "two header lines", secrets: [][]byte{testSecretNext}, header: []string{good, next}},
		{name: "malformed beside good", header: []string{"zz," + good}},
		{name: "malformed beside wrong", header: []string{other + ",zz"}, reason: "signature 2 of 2 is not hex"},
		{name: "four malformed", header: []string{"a,b,c,d"}, reason: "signature 3 of 4 is not hex; 1 more malformed"},
		{name: "short", header: []string{good[:32]}, reason: "signature 1 of 1 is 16 bytes, want 32 (HMAC-SHA256)"},
		{name: "missing", reason: "X-Webhook-Signature: missing or empty header"},
		{name: "empty", header: []string{" , "}, reason: "missing or empty header"},
		{name: "more than 16 signatures: the 17th is not tried", header: []string{many}, reason: "matches no configured key"},
		{name: "prefix", prefix: "sha256=", header: []string{"sha256=" + good}},
		{name: "prefix in capitals", prefix: "sha256=", header: []string{"SHA256=" + good}},
		{name: "prefix missing", prefix: "sha256=", header: []string{good}, reason: `signature 1 of 1 lacks the prefix "sha256="`},
		{name: "prefix on one of two", prefix: "sha256=", header: []string{good + ",sha256=" + good}},
		{name: "prefix present, wrong", prefix: "sha256=", header: []string{"sha256=" + other}, reason: "matches no configured key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := guideConfig(nil)
			cfg.Prefix = c.prefix
			if c.secrets != nil {
				cfg = withSecrets(cfg, c.secrets...)
			}
			r := request(s, testBody)
			r.Header.Del(hdrSig)
			for _, v := range c.header {
				r.Header.Add(hdrSig, v)
			}
			checkReason(t, newSource(t, cfg).Verify(context.Background(), r), c.reason)
		})
	}
}

func withSecrets(cfg generic.Config, secrets ...[]byte) generic.Config {
	cfg.Secrets = secrets
	return cfg
}

func TestVerifyBase64Alphabets(t *testing.T) {
	cfg := guideConfig(nil)
	cfg.Encoding = generic.EncodingBase64
	s := newSource(t, cfg)
	std := s.Sign("", strconv.FormatInt(testNow.Unix(), 10), testBody)
	mac, err := base64.StdEncoding.DecodeString(std)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		r := request(s, testBody)
		r.Header.Set(hdrSig, enc.EncodeToString(mac))
		checkReason(t, s.Verify(context.Background(), r), "")
	}
	r := request(s, testBody)
	r.Header.Set(hdrSig, "!!!")
	checkReason(t, s.Verify(context.Background(), r), "signature 1 of 1 is not base64")
}

// TestStandardWebhooksVector is the test vector of the Standard Webhooks
// specification (fixtures/README.md).
func TestStandardWebhooksVector(t *testing.T) {
	const (
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		id     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts     = "1614265330"
		sig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	body := []byte(`{"test": 2432232314}`)
	cfg, err := generic.StandardWebhooks(generic.Config{
		Name: "sw", EventID: "", MaxClockSkew: generic.StandardTolerance,
		Now: func() time.Time { return time.Unix(1614265330, 0) },
	}, "whsec_c29tZW9uZSBlbHNl", secret)
	if err != nil {
		t.Fatal(err)
	}
	s := newSource(t, cfg)
	if got := newSource(t, withSecrets(cfg, cfg.Secrets[1])).Sign(id, ts, body); got != sig {
		t.Errorf("Sign = %q, want %q", got, sig)
	}
	other := "v1,Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmFyYmF6Zm9vYmE="
	for header, reason := range map[string]string{
		sig:                                    "",
		other + " " + sig:                      "",
		"v1a,c29tZXRoaW5nIGVsc2U= " + sig:      "",
		sig + "  " + other:                     "",
		other:                                  "matches no configured key",
		strings.TrimPrefix(sig, "v1,"):         `lacks the prefix "v1,"`,
		"v2," + strings.TrimPrefix(sig, "v1,"): `lacks the prefix "v1,"`,
		"v1," + strings.TrimPrefix(sig, "v1,g0h"): "is not base64",
	} {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", header)
		err := s.Verify(context.Background(), &providers.Request{Body: body, Header: h, ReceivedAt: testNow})
		checkReason(t, err, reason)
	}
	h := http.Header{}
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	checkReason(t, s.Verify(context.Background(), &providers.Request{Body: body, Header: h}), "missing webhook-id header")
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", "1614265631")
	checkReason(t, s.Verify(context.Background(), &providers.Request{Body: body, Header: h}), "matches no configured key")
	if _, err := generic.StandardWebhooks(generic.Config{}, "whsec_!!"); err == nil || strings.Contains(err.Error(), "!!") {
		t.Errorf("StandardWebhooks with a bad secret = %v", err)
	}
	if _, err := generic.StandardWebhooks(generic.Config{}); err == nil {
		t.Error("StandardWebhooks without secrets succeeded")
	}
}

func TestParseStandardSecret(t *testing.T) {
	for in, want := range map[string]string{
		"whsec_c2VjcmV0":   "secret",
		"c2VjcmV0":         "secret",
		" whsec_c2VjcmV0 ": "secret",
		"whsec_c2VjcmV0MQ": "secret1", // unpadded
	} {
		if got, err := generic.ParseStandardSecret(in); err != nil || string(got) != want {
			t.Errorf("ParseStandardSecret(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "whsec_", "whsec_***"} {
		if _, err := generic.ParseStandardSecret(in); err == nil {
			t.Errorf("ParseStandardSecret(%q) succeeded", in)
		}
	}
}

func TestVerifyTimestamp(t *testing.T) {
	const skew = 5 * time.Minute
	at := func(d time.Duration, unit string) string {
		ts := testNow.Add(d)
		switch unit {
		case generic.UnitMillis:
			return strconv.FormatInt(ts.UnixMilli(), 10)
		case generic.UnitRFC3339:
			return ts.Format(time.RFC3339Nano)
		}
		return strconv.FormatInt(ts.Unix(), 10)
	}
	cases := []struct {
		name, unit string
		skew       time.Duration
		ts         *string
		reason     string
	}{
		{name: "s now", unit: "s", skew: skew, ts: ptr(at(0, "s"))},
		{name: "s +skew", unit: "s", skew: skew, ts: ptr(at(skew, "s"))},
		{name: "s -skew", unit: "s", skew: skew, ts: ptr(at(-skew, "s"))},
		{name: "s past +skew", unit: "s", skew: skew, ts: ptr(at(skew+time.Second, "s")),
			reason: "timestamp 2023-06-15T14:25:01.000Z (5m1s in the future) outside window of ±5m0s around 2023-06-15T14:20:00.000Z"},
		{name: "s past -skew", unit: "s", skew: skew, ts: ptr(at(-skew-time.Second, "s")), reason: "5m1s in the past"},
		{name: "s given ms", unit: "s", skew: skew, ts: ptr(at(0, "ms")), reason: `is not a timestamp in unit s`},
		{name: "ms now", unit: "ms", skew: skew, ts: ptr(at(0, "ms"))},
		{name: "ms just out", unit: "ms", skew: skew, ts: ptr(at(skew+time.Millisecond, "ms")), reason: "5m0.001s in the future"},
		{name: "ms given s", unit: "ms", skew: skew, ts: ptr(at(0, "s")), reason: "timestamp 1970-01-20"},
		{name: "rfc3339 now", unit: "rfc3339", skew: skew, ts: ptr(at(0, "rfc3339"))},
		{name: "rfc3339 offset", unit: "rfc3339", skew: skew, ts: ptr(testNow.In(time.FixedZone("", 7200)).Format(time.RFC3339))},
		{name: "rfc3339 old", unit: "rfc3339", skew: skew, ts: ptr(at(-time.Hour, "rfc3339")), reason: "1h0m0s in the past"},
		{name: "rfc3339 given s", unit: "rfc3339", skew: skew, ts: ptr(at(0, "s")), reason: "is not a timestamp in unit rfc3339"},
		// auto, the default: seconds or milliseconds by size, or RFC 3339.
		{name: "auto s", unit: "", skew: skew, ts: ptr(at(0, "s"))},
		{name: "auto ms", unit: "auto", skew: skew, ts: ptr(at(0, "ms"))},
		{name: "auto rfc3339", unit: "", skew: skew, ts: ptr(at(0, "rfc3339"))},
		{name: "auto ms old", unit: "", skew: skew, ts: ptr(at(-skew-time.Millisecond, "ms")), reason: "5m0.001s in the past"},
		{name: "auto s future", unit: "", skew: skew, ts: ptr(at(skew+time.Second, "s")), reason: "5m1s in the future"},
		{name: "missing", unit: "s", skew: skew, reason: "missing X-Webhook-Timestamp header (signed {timestamp}{body})"},
		{name: "garbage", unit: "s", skew: skew, ts: ptr("soon"), reason: "matches no configured key"},
		{name: "negative", unit: "s", skew: skew, ts: ptr("-1"), reason: "matches no configured key"},
		{name: "skew 0: ancient passes", unit: "s", ts: ptr("0")},
		{name: "skew 0: garbage passes", unit: "s", ts: ptr("soon")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := guideConfig(nil)
			cfg.TimestampUnit, cfg.MaxClockSkew = c.unit, c.skew
			s := newSource(t, cfg)
			r := request(s, testBody)
			r.Header.Del(hdrTS)
			if c.ts != nil {
				// Signed with the timestamp as sent, so that only the
				// window can fail.
				r.Header.Set(hdrTS, *c.ts)
				r.Header.Set(hdrSig, s.Sign("", *c.ts, testBody))
				if c.name == "garbage" || c.name == "negative" {
					r.Header.Set(hdrSig, s.Sign("", "x", testBody))
				}
			}
			checkReason(t, s.Verify(context.Background(), r), c.reason)
		})
	}
}

// TestVerifyTimestampWindowOnly checks the window when the timestamp is not
// signed ({body}): the header is still required and checked.
func TestVerifyTimestampWindowOnly(t *testing.T) {
	cfg := guideConfig(nil)
	cfg.Signed = generic.SignedBody
	s := newSource(t, cfg)
	r := request(s, testBody)
	checkReason(t, s.Verify(context.Background(), r), "")
	r.Header.Set(hdrTS, "garbage")
	checkReason(t, s.Verify(context.Background(), r), `X-Webhook-Timestamp "garbage" is not a timestamp (Unix seconds or milliseconds, or RFC 3339)`)
	r.Header.Del(hdrTS)
	checkReason(t, s.Verify(context.Background(), r), "missing X-Webhook-Timestamp header (required while max_clock_skew is 5m0s)")
}

func ptr(s string) *string { return &s }

func TestNewValidates(t *testing.T) {
	base := guideConfig(map[string]string{"email": "/data/email"})
	mod := func(f func(c *generic.Config)) generic.Config {
		c := base
		f(&c)
		return c
	}
	for want, cfg := range map[string]generic.Config{
		"name: required":                   mod(func(c *generic.Config) { c.Name = "" }),
		"signature.header: required":       mod(func(c *generic.Config) { c.Header = "" }),
		`signature.encoding: "hexa"`:       mod(func(c *generic.Config) { c.Encoding = "hexa" }),
		`signature.algorithm: "md5"`:       mod(func(c *generic.Config) { c.Algorithm = "md5" }),
		`signature.signed: "{body}{ts}"`:   mod(func(c *generic.Config) { c.Signed = "{body}{ts}" }),
		"signature.timestamp_header: requ": mod(func(c *generic.Config) { c.TimestampHeader, c.MaxClockSkew = "", 0 }),
		"signature.id_header: required by": mod(func(c *generic.Config) { c.Signed = generic.SignedIDTimestampDot }),
		`signature.timestamp_unit: "us"`:   mod(func(c *generic.Config) { c.TimestampUnit = "us" }),
		"max_clock_skew: -1s is negative":  mod(func(c *generic.Config) { c.MaxClockSkew = -time.Second }),
		"max_clock_skew: needs signature.": mod(func(c *generic.Config) { c.Signed, c.TimestampHeader = "", "" }),
		"signature.secret: at least one":   mod(func(c *generic.Config) { c.Secrets = nil }),
		"signature.secrets[1]: empty":      mod(func(c *generic.Config) { c.Secrets = [][]byte{testSecret, {}} }),
		`event_id: JSON pointer "id" must`: mod(func(c *generic.Config) { c.EventID = "id" }),
		`event_time: JSON pointer "/a~2"`:  mod(func(c *generic.Config) { c.EventTime = "/a~2" }),
		`each: JSON pointer "/a~"`:         mod(func(c *generic.Config) { c.Each = "/a~" }),
		"type: JSON pointer":               mod(func(c *generic.Config) { c.Type = "x" }),
		"types: needs type":                mod(func(c *generic.Config) { c.Type, c.Types = "", []string{"a"} }),
		"fields.mail: unknown field; known": mod(func(c *generic.Config) {
			c.Fields = map[string]string{"mail": "/e"}
		}),
		"fields.email: pointer must not be empty":    mod(func(c *generic.Config) { c.Fields = map[string]string{"email": ""} }),
		`fields.phone: JSON pointer "p"`:             mod(func(c *generic.Config) { c.Fields = map[string]string{"phone": "p"} }),
		"event_id: required (or signature.id_header": mod(func(c *generic.Config) { c.EventID = "" }),
	} {
		if _, err := generic.New(cfg); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("New = %v, want %q…", err, want)
		}
	}
	s := newSource(t, mod(func(c *generic.Config) { c.EventID, c.IDHeader = "", hdrID }))
	if s.Name() != "website" || s.Provider() != "generic" {
		t.Errorf("Name, Provider = %q, %q", s.Name(), s.Provider())
	}
}

// New copies the secrets: a caller that wipes its buffer after New must not
// change what the source accepts.
func TestNewCopiesSecrets(t *testing.T) {
	secret := bytes.Clone(testSecret)
	s := newSource(t, withSecrets(guideConfig(nil), secret))
	r := request(s, testBody)
	clear(secret)
	checkReason(t, s.Verify(context.Background(), r), "")
}

// TestSignedRequest sends a SignedRequest through Verify, for each unit.
func TestSignedRequest(t *testing.T) {
	for _, unit := range []string{generic.UnitSeconds, generic.UnitMillis, generic.UnitRFC3339} {
		cfg, err := generic.StandardWebhooks(guideConfig(nil), "whsec_c2VjcmV0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.TimestampUnit = unit
		s := newSource(t, cfg)
		req, err := s.SignedRequest("http://127.0.0.1:8080/webhooks/website", testBody, testNow)
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
			!strings.HasPrefix(req.Header.Get("webhook-id"), "msg_") || !strings.HasPrefix(req.Header.Get("webhook-signature"), "v1,") {
			t.Errorf("headers = %v", req.Header)
		}
		got, _ := io.ReadAll(req.Body)
		r := &providers.Request{Body: got, Header: req.Header, ReceivedAt: testNow}
		checkReason(t, s.Verify(context.Background(), r), "")
	}
	if _, err := newSource(t, guideConfig(nil)).SignedRequest("://bad", testBody, testNow); err == nil {
		t.Error("SignedRequest accepted a bad URL")
	}
}
