package rechat_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/rechat"
)

// TestSignMatchesRechat computes the signature as Rechat's server does
// (crypto.createSecretKey(key, 'hex'), HMAC-SHA256, hex digest), here by
// hand, and checks Sign agrees: keyed with the decoded bytes, not the text.
func TestSignMatchesRechat(t *testing.T) {
	body := []byte(`{"topic":"contacts","event":"create","timestamp":1712918356501,"payload":{"data":[]}}`)
	k, _ := hex.DecodeString(testKey)
	m := hmac.New(sha256.New, k)
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	got, err := rechat.Sign(testKey, body)
	if err != nil || got != want {
		t.Fatalf("Sign = %q, %v; want %q", got, err, want)
	}
	m = hmac.New(sha256.New, []byte(testKey))
	m.Write(body)
	if textKeyed := hex.EncodeToString(m.Sum(nil)); got == textKeyed {
		t.Fatal("Sign keys with the hex text, not the decoded key")
	}
	if _, err := rechat.Sign("xyz", body); err == nil || strings.Contains(err.Error(), "xyz") {
		t.Errorf("Sign with a bad key = %v", err)
	}
}

func TestVerify(t *testing.T) {
	body := rechat.SampleContacts(2)
	good, _ := rechat.Sign(testKey, body)
	other, _ := rechat.Sign(testKeyOther, body)
	textKeyed := func() string {
		m := hmac.New(sha256.New, []byte(testKey))
		m.Write(body)
		return hex.EncodeToString(m.Sum(nil))
	}()
	cases := []struct {
		name   string
		extra  []string
		header []string // nil = absent
		body   []byte
		reason string
	}{
		{name: "good", header: []string{good}},
		{name: "uppercase", header: []string{strings.ToUpper(good)}},
		{name: "spaces", header: []string{" " + good + " "}},
		{name: "other topic's key, not configured", header: []string{other}, reason: "signature matches no configured key"},
		{name: "other topic's key, configured", extra: []string{testKeyOther}, header: []string{other}},
		{name: "keyed with the hex text", header: []string{textKeyed}, reason: "matches no configured key"},
		{name: "body altered", header: []string{good}, body: append(bytes.Clone(body), ' '), reason: "matches no configured key"},
		{name: "body re-encoded", header: []string{good}, body: bytes.ReplaceAll(body, []byte(`\u0026`), []byte("&")), reason: "matches no configured key"},
		{name: "missing", reason: "missing X-RECHAT-SIGNATURE header"},
		{name: "empty", header: []string{""}, reason: "missing X-RECHAT-SIGNATURE header"},
		{name: "not hex", header: []string{"zz" + good[2:]}, reason: "signature 1 of 1 is not hex"},
		{name: "short", header: []string{good[:40]}, reason: "is 20 bytes, want 32"},
		{name: "sha256= prefix", header: []string{"sha256=" + good}, reason: "not hex"},
		{name: "garbage beside good", header: []string{"nothex," + good}},
		{name: "two lines", header: []string{other, good}},
		{name: "more than 8: the 9th is not tried", header: []string{strings.Repeat(other+",", 8) + good}, reason: "matches no configured key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := rechat.New(rechat.Config{Name: "rechat", Key: testKey, ExtraKeys: c.extra})
			if err != nil {
				t.Fatal(err)
			}
			r := request(t, body)
			if c.body != nil {
				r.Body = c.body
			}
			r.Header.Del(rechat.HeaderSignature)
			for _, v := range c.header {
				r.Header.Add("x-rechat-signature", v) // as a client may spell it
			}
			checkReason(t, s.Verify(context.Background(), r), c.reason)
		})
	}
	if !bytes.Contains(body, []byte(`\u0026`)) {
		t.Fatal("sample has no escaped &: the re-encoding case proves nothing")
	}
}

func checkReason(t *testing.T, err error, reason string) {
	t.Helper()
	if reason == "" {
		if err != nil {
			t.Fatalf("Verify = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, providers.ErrBadSignature) || !strings.Contains(err.Error(), reason) {
		t.Fatalf("Verify = %v, want ErrBadSignature with %q", err, reason)
	}
	if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), testKeyOther) {
		t.Errorf("error %q contains a key", err)
	}
}

func TestNewValidates(t *testing.T) {
	for want, cfg := range map[string]rechat.Config{
		"name: required":                              {Key: testKey},
		"key: required":                               {Name: "r"},
		"key: must be 64 hexadecimal characters":      {Name: "r", Key: testKey[:62]},
		"key: must be 64 hexadecimal characters ":     {Name: "r", Key: "zz" + testKey[2:]},
		"extra_keys[1]: must be 64 hexadecimal chara": {Name: "r", Key: testKey, ExtraKeys: []string{testKeyOther, "x"}},
		"topics[0]: empty":                            {Name: "r", Key: testKey, Topics: []string{" "}},
	} {
		_, err := rechat.New(cfg)
		if err == nil || !strings.HasPrefix(err.Error(), strings.TrimSpace(want)) {
			t.Errorf("New(%q) = %v, want %q…", cfg.Name, err, want)
		}
		if err != nil && strings.Contains(err.Error(), testKey[:20]) {
			t.Errorf("error %q contains the key", err)
		}
	}
	s, err := rechat.New(rechat.Config{Name: "rechat-us", Key: strings.ToUpper(testKey)})
	if err != nil || s.Name() != "rechat-us" || s.Provider() != "rechat" {
		t.Fatalf("New = %v, %v", s, err)
	}
}

// TestSignedRequest sends a SignedRequest through Verify and Parse.
func TestSignedRequest(t *testing.T) {
	body := rechat.SampleContacts(3)
	req, err := rechat.SignedRequest("http://127.0.0.1:8080/webhooks/rechat", testKey, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || req.Header.Get(rechat.HeaderSignature) == "" {
		t.Errorf("request = %s %v", req.Method, req.Header)
	}
	got, _ := io.ReadAll(req.Body)
	r := &providers.Request{Source: "rechat", Body: got, Header: req.Header, ReceivedAt: testReceived}
	s := newSource(t)
	if err := s.Verify(context.Background(), r); err != nil {
		t.Fatalf("Verify(SignedRequest) = %v", err)
	}
	if _, err := rechat.SignedRequest("://bad", testKey, body); err == nil {
		t.Error("SignedRequest accepted a bad URL")
	}
	if _, err := rechat.SignedRequest("http://x", "short", body); err == nil {
		t.Error("SignedRequest accepted a bad key")
	}
}
