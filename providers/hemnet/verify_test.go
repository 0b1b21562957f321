package hemnet_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/hemnet"
)

func TestVerifySignature(t *testing.T) {
	body := hemnet.Sample("c1")
	good := hemnet.Sign(testKey, body)
	next := hemnet.Sign(testKeyNext, body)
	other := hemnet.Sign([]byte("someone else's key"), body)
	cases := []struct {
		name   string
		keys   [][]byte
		header []string // X-Signature lines; nil = absent
		body   []byte   // nil = body
		reason string   // "" = must pass
	}{
		{name: "good", header: []string{good}},
		{name: "uppercase hex", header: []string{strings.ToUpper(good)}},
		{name: "surrounding spaces", header: []string{"  " + good + " "}},
		{name: "wrong key", header: []string{other}, reason: "matches no configured key"},
		{name: "body altered", header: []string{good}, body: append(bytes.Clone(body), ' '), reason: "matches no configured key"},
		{name: "empty body signed", header: []string{hemnet.Sign(testKey, nil)}, body: []byte{}},
		{name: "rotation old,new with old key", header: []string{good + "," + next}},
		{name: "rotation old,new with new key", keys: [][]byte{testKeyNext}, header: []string{good + "," + next}},
		{name: "rotation with spaces", keys: [][]byte{testKeyNext}, header: []string{good + " , " + next}},
		{name: "rotation neither matches", header: []string{other + "," + other}, reason: "matches no configured key"},
		{name: "rotation new,old", header: []string{next + "," + good}},
		{name: "two header lines", keys: [][]byte{testKeyNext}, header: []string{good, next}},
		{name: "two keys, first signs", keys: [][]byte{testKey, testKeyNext}, header: []string{good}},
		{name: "two keys, second signs", keys: [][]byte{testKey, testKeyNext}, header: []string{next}},
		{name: "two keys, neither signs", keys: [][]byte{testKey, testKeyNext}, header: []string{other}, reason: "matches no configured key"},
		{name: "missing header", reason: "missing X-Signature header"},
		{name: "empty header", header: []string{""}, reason: "missing X-Signature header"},
		{name: "only commas", header: []string{" , ,"}, reason: "missing X-Signature header"},
		{name: "non-hex", header: []string{"zz" + good[2:]}, reason: "signature 1 of 1 is not hex"},
		{name: "odd length hex", header: []string{good[1:]}, reason: "not hex"},
		{name: "sha256= prefix", header: []string{"sha256=" + good}, reason: "not hex"},
		{name: "too short", header: []string{good[:32]}, reason: "signature 1 of 1 is 16 bytes, want 32"},
		{name: "too long", header: []string{good + "00"}, reason: "33 bytes, want 32"},
		{name: "malformed beside good", header: []string{"nothex," + good}},
		{name: "malformed beside wrong", header: []string{other + ",nothex"}, reason: "signature 2 of 2 is not hex"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			keys := c.keys
			if keys == nil {
				keys = [][]byte{testKey}
			}
			r := request(body)
			if c.body != nil {
				r.Body = c.body
			}
			r.Header.Del(hemnet.HeaderSignature)
			for _, v := range c.header {
				r.Header.Add(hemnet.HeaderSignature, v)
			}
			err := newSource(t, 10*time.Minute, keys...).Verify(context.Background(), r)
			checkReason(t, err, c.reason)
		})
	}
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
	for _, secret := range [][]byte{testKey, testKeyNext} {
		if strings.Contains(err.Error(), string(secret)) || strings.Contains(err.Error(), hex.EncodeToString(secret)) {
			t.Errorf("error %q contains a key", err)
		}
	}
	if strings.Contains(err.Error(), hemnet.Sign(testKey, hemnet.Sample("c1"))[:16]) {
		t.Errorf("error %q contains a MAC", err)
	}
}

func TestVerifyTimestamp(t *testing.T) {
	const skew = 10 * time.Minute
	ms := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).UnixMilli(), 10) }
	cases := []struct {
		name   string
		skew   time.Duration
		ts     *string // nil = header absent
		reason string
	}{
		{name: "now", skew: skew, ts: ptr(ms(0))},
		{name: "+skew exactly", skew: skew, ts: ptr(ms(skew))},
		{name: "-skew exactly", skew: skew, ts: ptr(ms(-skew))},
		{name: "just past +skew", skew: skew, ts: ptr(ms(skew + time.Millisecond)),
			reason: "timestamp 2024-04-12T10:49:16.463Z (10m0.001s in the future) outside window of ±10m0s"},
		{name: "just past -skew", skew: skew, ts: ptr(ms(-skew - time.Millisecond)),
			reason: "(10m0.001s in the past) outside window of ±10m0s around 2024-04-12T10:39:16.462Z"},
		{name: "a day old", skew: skew, ts: ptr(ms(-24 * time.Hour)), reason: "24h0m0s in the past"},
		{name: "seconds not ms", skew: skew, ts: ptr(strconv.FormatInt(testNow.Unix(), 10)), reason: "timestamp 1970-01-20"},
		{name: "padded", skew: skew, ts: ptr(" " + ms(0) + " ")},
		{name: "missing", skew: skew, reason: "missing X-Timestamp header (required while max_clock_skew is 10m0s)"},
		{name: "empty", skew: skew, ts: ptr(""), reason: "missing X-Timestamp"},
		{name: "not a number", skew: skew, ts: ptr("yesterday"), reason: `X-Timestamp "yesterday" is not Unix milliseconds`},
		{name: "RFC 3339", skew: skew, ts: ptr("2024-04-12T10:39:16Z"), reason: "is not Unix milliseconds"},
		{name: "negative", skew: skew, ts: ptr("-1"), reason: "is not Unix milliseconds"},
		{name: "overflow", skew: skew, ts: ptr("99999999999999999999"), reason: "is not Unix milliseconds"},
		{name: "beyond year 9999", skew: skew, ts: ptr("253402300800000"), reason: "is not Unix milliseconds"},
		{name: "long garbage is truncated", skew: skew, ts: ptr(strings.Repeat("x", 500)), reason: `"` + strings.Repeat("x", 32) + `…"`},
		{name: "skew 0: missing", skew: 0},
		{name: "skew 0: garbage", skew: 0, ts: ptr("yesterday")},
		{name: "skew 0: ancient", skew: 0, ts: ptr("0")},
		{name: "1ms skew: in", skew: time.Millisecond, ts: ptr(ms(-time.Millisecond))},
		{name: "1ms skew: out", skew: time.Millisecond, ts: ptr(ms(2 * time.Millisecond)), reason: "outside window of ±1ms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := request(hemnet.Sample("c1"))
			r.Header.Del(hemnet.HeaderTimestamp)
			if c.ts != nil {
				r.Header.Set(hemnet.HeaderTimestamp, *c.ts)
			}
			err := newSource(t, c.skew).Verify(context.Background(), r)
			checkReason(t, err, c.reason)
		})
	}
}

func ptr(s string) *string { return &s }

// A request that is both unsigned and stale is reported as unsigned: that
// is what the operator needs to know first.
func TestVerifySignatureBeforeTimestamp(t *testing.T) {
	r := request([]byte("{}"))
	r.Header.Set(hemnet.HeaderSignature, hemnet.Sign([]byte("wrong"), r.Body))
	r.Header.Set(hemnet.HeaderTimestamp, "0")
	err := newSource(t, time.Minute).Verify(context.Background(), r)
	checkReason(t, err, "X-Signature: signature matches no configured key")
}

func TestNewValidates(t *testing.T) {
	for want, cfg := range map[string]hemnet.Config{
		"name: required":       {Keys: [][]byte{testKey}},
		"keys: at least one":   {Name: "h"},
		"keys[1]: empty":       {Name: "h", Keys: [][]byte{testKey, {}}},
		"max_clock_skew: -1s ": {Name: "h", Keys: [][]byte{testKey}, MaxClockSkew: -time.Second},
	} {
		if _, err := hemnet.New(cfg); err == nil || !strings.HasPrefix(err.Error()+" ", want) {
			t.Errorf("New(%+v) = %v, want %q…", cfg, err, want)
		}
	}
	s, err := hemnet.New(hemnet.Config{Name: "hemnet-se", Keys: [][]byte{testKey}})
	if err != nil || s.Name() != "hemnet-se" || s.Provider() != "hemnet" {
		t.Fatalf("New = %v, %v", s, err)
	}
}

// New copies the keys: a caller that wipes its buffer after New must not
// change what the source accepts.
func TestNewCopiesKeys(t *testing.T) {
	key := bytes.Clone(testKey)
	s, err := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{key}})
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	if err := s.Verify(context.Background(), request(hemnet.Sample("c1"))); err != nil {
		t.Errorf("Verify after wiping the caller's key: %v", err)
	}
}

// TestSignedRequest sends a SignedRequest through the parts intake uses and
// checks that it carries Hemnet's headers and verifies with a clock window.
func TestSignedRequest(t *testing.T) {
	body := hemnet.Sample("")
	req, err := hemnet.SignedRequest("http://127.0.0.1:8080/webhooks/hemnet", testKey, body, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get("User-Agent") != "Hemnet API Client" || req.Header.Get(hemnet.HeaderTimestamp) != "1712918356462" {
		t.Errorf("headers = %v", req.Header)
	}
	if id := req.Header.Get(hemnet.HeaderRequestID); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("X-Request-Id = %q, want a UUID", id)
	}
	got, err := io.ReadAll(req.Body)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("body = %q, %v", got, err)
	}
	r := &providers.Request{Source: "hemnet", Body: got, Header: req.Header, ReceivedAt: testNow}
	if err := newSource(t, time.Minute).Verify(context.Background(), r); err != nil {
		t.Errorf("Verify(SignedRequest) = %v", err)
	}
	if _, err := hemnet.SignedRequest("://bad", testKey, body, testNow); err == nil {
		t.Error("SignedRequest accepted a bad URL")
	}
}
