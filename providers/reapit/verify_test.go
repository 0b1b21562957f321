package reapit_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/reapit"
)

func TestVerifyEd25519(t *testing.T) {
	body := reapit.Sample("OXF200060", "OXF")
	good := reapit.SignEd25519(testPriv, testKid, testNow, body)
	rawSig := ed25519.Sign(testPriv, append([]byte("1712918356"), body...))
	withSig := func(enc string) string { return "s:k1:1712918356:" + enc }
	cases := []struct {
		name   string
		header []string // X-Signature lines; nil = absent
		body   []byte   // nil = body
		reason string   // "" = must pass
	}{
		{name: "good", header: []string{good}},
		{name: "surrounding spaces", header: []string{"  " + good + " "}},
		{name: "padded base64url", header: []string{withSig(base64.URLEncoding.EncodeToString(rawSig))}},
		{name: "standard alphabet", header: []string{withSig(base64.StdEncoding.EncodeToString(rawSig))}},
		{name: "standard alphabet unpadded", header: []string{withSig(base64.RawStdEncoding.EncodeToString(rawSig))}},
		{name: "empty body signed", header: []string{reapit.SignEd25519(testPriv, testKid, testNow, nil)}, body: []byte{}},
		{name: "other key", header: []string{reapit.SignEd25519(otherPriv, testKid, testNow, body)},
			reason: `signature does not verify with key "k1"`},
		{name: "body altered", header: []string{good}, body: append([]byte(" "), body...), reason: "does not verify"},
		{name: "timestamp altered", header: []string{strings.Replace(good, ":1712918356:", ":1712918357:", 1)},
			reason: "does not verify"},
		{name: "timestamp with leading zero", header: []string{strings.Replace(good, ":1712918356:", ":01712918356:", 1)},
			reason: "does not verify"},
		{name: "missing", reason: "missing X-Signature header"},
		{name: "empty", header: []string{" "}, reason: "missing X-Signature header"},
		{name: "two headers", header: []string{good, good}, reason: "2 X-Signature headers, want one"},
		{name: "other version", header: []string{"v1" + good[1:]}, reason: "not of the form s:<kid>:<unix seconds>:<signature>"},
		{name: "three parts", header: []string{"s:k1:" + b64(rawSig)}, reason: "not of the form"},
		{name: "five parts", header: []string{good + ":x"}, reason: "not of the form"},
		{name: "empty kid", header: []string{"s::1712918356:" + b64(rawSig)}, reason: "key id is not 1-128"},
		{name: "kid with slash", header: []string{"s:../k1:1712918356:" + b64(rawSig)}, reason: "key id is not"},
		{name: "kid too long", header: []string{"s:" + strings.Repeat("k", 129) + ":1712918356:" + b64(rawSig)}, reason: "key id is not"},
		{name: "signed seconds", header: []string{"s:k1:+1712918356:" + b64(rawSig)}, reason: "timestamp is not Unix seconds"},
		{name: "milliseconds beyond 9999", header: []string{"s:k1:1712918356000:" + b64(rawSig)}, reason: "timestamp is not Unix seconds"},
		{name: "RFC 3339 timestamp", header: []string{"s:k1:2024-04-12T10:39:16Z:" + b64(rawSig)}, reason: "not of the form"},
		{name: "no timestamp", header: []string{"s:k1::" + b64(rawSig)}, reason: "timestamp is not Unix seconds"},
		{name: "signature not base64", header: []string{withSig("!" + b64(rawSig)[1:])}, reason: "signature is not base64url"},
		{name: "signature hex", header: []string{withSig(strings.Repeat("ab", 64))}, reason: "signature is 96 bytes, want 64"},
		{name: "signature short", header: []string{withSig(b64(rawSig[:32]))}, reason: "signature is 32 bytes, want 64"},
		{name: "signature one char more", header: []string{withSig(b64(rawSig) + "A")}, reason: "signature is 65 bytes, want 64"},
		{name: "signature three chars more", header: []string{withSig(b64(rawSig) + "AAA")}, reason: "signature is not base64url"},
		{name: "signature bad padding", header: []string{withSig(b64(rawSig) + "=")}, reason: "signature is not base64url"},
		{name: "signature triple padding", header: []string{withSig(b64(rawSig) + "===")}, reason: "signature is not base64url"},
		{name: "signature non-canonical", header: []string{withSig(b64(rawSig)[:85] + flipLow(b64(rawSig)[85]))}, reason: "signature is not base64url"},
		{name: "header too long", header: []string{good + strings.Repeat(" x", 300)}, reason: "over 512"},
		{name: "unknown kid, cannot fetch", header: []string{reapit.SignEd25519(testPriv, "k9", testNow, body)},
			reason: `unknown key id "k9" (not in public_keys, and no client credentials to fetch it)`},
	}
	src := newSource(t, staticConfig())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := requestSigned(body, "")
			if c.body != nil {
				r.Body = c.body
			}
			for _, v := range c.header {
				r.Header.Add(reapit.HeaderSignature, v)
			}
			checkReason(t, src.Verify(context.Background(), r), c.reason)
		})
	}
}

// flipLow returns a base64url character with the same high bits as c and
// the lowest bit set, so that a final character carries non-zero padding
// bits.
func flipLow(c byte) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, c)
	return string(alphabet[i|1])
}

// checkReason checks that err is nil when reason is empty, and otherwise a
// providers.ErrBadSignature whose message gives reason and leaks nothing.
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
	checkNoSecrets(t, err)
}

func checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, secret := range []string{testClientSecret, testClientID, reapit.LegacySignature(testClientID), b64(testPub)[:20], "tok-"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains a secret or key (%q)", msg, secret)
		}
	}
}

func TestVerifyClockSkew(t *testing.T) {
	body := reapit.Sample("OXF200060", "OXF")
	cases := []struct {
		name   string
		skew   time.Duration
		at     time.Duration // signing time relative to testNow
		reason string
	}{
		{name: "now", skew: 10 * time.Minute},
		{name: "+skew exactly", skew: 10 * time.Minute, at: 10 * time.Minute},
		{name: "-skew exactly", skew: 10 * time.Minute, at: -10 * time.Minute},
		{name: "just past", skew: 10 * time.Minute, at: -10*time.Minute - time.Second,
			reason: "X-Signature timestamp 2024-04-12T10:29:15.000Z (10m1s in the past) outside window of ±10m0s around 2024-04-12T10:39:16.000Z"},
		{name: "future", skew: 10 * time.Minute, at: time.Hour, reason: "(1h0m0s in the future) outside window"},
		{name: "epoch", skew: 10 * time.Minute, at: -testNow.Sub(time.Unix(0, 0)), reason: "timestamp 1970-01-01T00:00:00.000Z"},
		{name: "off: a day old", at: -24 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := staticConfig()
			cfg.MaxClockSkew = c.skew
			r := requestSigned(body, reapit.SignEd25519(testPriv, testKid, testNow.Add(c.at), body))
			checkReason(t, newSource(t, cfg).Verify(context.Background(), r), c.reason)
		})
	}
}

func TestVerifyLegacyAndAny(t *testing.T) {
	body := reapit.Sample("OXF200060", "OXF")
	legacy := reapit.LegacySignature(testClientID)
	good := reapit.SignEd25519(testPriv, testKid, testNow, body)
	bad := reapit.SignEd25519(otherPriv, testKid, testNow, body)
	wrongLegacy := reapit.LegacySignature("someone-else")
	cases := []struct {
		mode, legacy, xsig, reason string
	}{
		{mode: "legacy", legacy: legacy},
		{mode: "legacy", legacy: " " + legacy + " "},
		{mode: "legacy", legacy: wrongLegacy, reason: "Reapit-Webhook-Signature does not match base64 of the configured client_id"},
		{mode: "legacy", legacy: testClientID, reason: "does not match"},
		{mode: "legacy", legacy: strings.ToLower(legacy), reason: "does not match"},
		{mode: "legacy", xsig: good, reason: "missing Reapit-Webhook-Signature header"},
		{mode: "legacy", reason: "missing Reapit-Webhook-Signature header"},
		{mode: "any", legacy: legacy},
		{mode: "any", xsig: good},
		{mode: "any", legacy: legacy, xsig: good},
		{mode: "any", legacy: wrongLegacy, xsig: good},
		{mode: "any", legacy: legacy, xsig: bad},
		{mode: "any", legacy: wrongLegacy, xsig: bad, reason: "X-Signature: signature does not verify"},
		{mode: "any", legacy: wrongLegacy, reason: "Reapit-Webhook-Signature does not match"},
		{mode: "any", xsig: bad, reason: "does not verify"},
		{mode: "any", reason: "missing X-Signature and Reapit-Webhook-Signature headers"},
		{mode: "ed25519", legacy: legacy, reason: "missing X-Signature header"},
	}
	for _, c := range cases {
		t.Run(c.mode+"/"+c.legacy+"/"+c.xsig[:min(len(c.xsig), 12)], func(t *testing.T) {
			cfg := staticConfig()
			cfg.Signature, cfg.ClientID = c.mode, testClientID
			r := requestSigned(body, c.xsig)
			if c.legacy != "" {
				r.Header.Set(reapit.HeaderLegacySignature, c.legacy)
			}
			checkReason(t, newSource(t, cfg).Verify(context.Background(), r), c.reason)
		})
	}
}

func TestNewValidates(t *testing.T) {
	ok := staticConfig()
	cases := map[string]func(*reapit.Config){
		"name: required":                          func(c *reapit.Config) { c.Name = "" },
		`signature: "hmac" is not one of`:         func(c *reapit.Config) { c.Signature = "hmac" },
		"client_id: required by signature legacy": func(c *reapit.Config) { c.Signature = "legacy" },
		"client_id: required by signature any":    func(c *reapit.Config) { c.Signature = "any" },
		"signature: ed25519 needs public_keys, or client_id and client_secret": func(c *reapit.Config) {
			c.PublicKeys = nil
			c.ClientID = testClientID
		},
		"public_keys.k1: must be a base64url Ed25519 public key": func(c *reapit.Config) { c.PublicKeys["k1"] = b64(testPub[:31]) },
		`public_keys: key id "a/b"`:                              func(c *reapit.Config) { c.PublicKeys["a/b"] = b64(testPub) },
		"max_clock_skew: -1s is negative":                        func(c *reapit.Config) { c.MaxClockSkew = -time.Second },
		"customers[1]: empty":                                    func(c *reapit.Config) { c.Customers = []string{"OXF", " "} },
		"topics[0]: empty":                                       func(c *reapit.Config) { c.Topics = []string{""} },
		`api_url: "ftp://x" is not an http(s) URL`:               func(c *reapit.Config) { c.APIURL = "ftp://x" },
		`token_url: "/token" is not an http(s) URL`:              func(c *reapit.Config) { c.TokenURL = "/token" },
	}
	for want, mutate := range cases {
		cfg := staticConfig()
		cfg.PublicKeys = map[string]string{testKid: ok.PublicKeys[testKid]}
		mutate(&cfg)
		if _, err := reapit.New(cfg); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("New: %v, want %q…", err, want)
		}
	}
	// The demo config: legacy, a client id and nothing else.
	s, err := reapit.New(reapit.Config{Name: "reapit", Signature: "legacy", ClientID: "demo-reapit-client"})
	if err != nil || s.Name() != "reapit" || s.Provider() != "reapit" || len(s.Customers()) != 0 {
		t.Fatalf("New(demo) = %v, %v", s, err)
	}
	if got := s.String(); strings.Contains(got, "demo-reapit-client") {
		t.Errorf("String() = %q shows the client id", got)
	}
	// Padding and the standard alphabet are tolerated in public_keys too.
	cfg := staticConfig()
	cfg.PublicKeys = map[string]string{testKid: base64.StdEncoding.EncodeToString(testPub)}
	if _, err := reapit.New(cfg); err != nil {
		t.Errorf("New with a padded standard-base64 key: %v", err)
	}
}
