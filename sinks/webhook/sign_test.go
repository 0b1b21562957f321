package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks/webhook"
)

// The test vector of the Standard Webhooks 1.0 specification.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignVector(t *testing.T) {
	got, err := webhook.Sign(vecSecret, vecID, vecTS, []byte(vecBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vecSig {
		t.Errorf("Sign = %s, want %s", got, vecSig)
	}
}

func vecHeader(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", vecID)
	h.Set("webhook-timestamp", strconv.Itoa(vecTS))
	h.Set("webhook-signature", sig)
	return h
}

func TestVerify(t *testing.T) {
	at := time.Unix(vecTS, 0)
	other := "whsec_" + "c2Vjb25kLWtleS1mb3Itcm90YXRpb24="
	otherSig, _ := webhook.Sign(other, vecID, vecTS, []byte(vecBody))
	cases := []struct {
		name   string
		secret string
		header http.Header
		body   string
		tol    time.Duration
		now    time.Time
		want   error
	}{
		{"vector", vecSecret, vecHeader(vecSig), vecBody, webhook.DefaultTolerance, at, nil},
		{"within tolerance", vecSecret, vecHeader(vecSig), vecBody, webhook.DefaultTolerance, at.Add(4 * time.Minute), nil},
		{"too old", vecSecret, vecHeader(vecSig), vecBody, webhook.DefaultTolerance, at.Add(6 * time.Minute), webhook.ErrTimestamp},
		{"from the future", vecSecret, vecHeader(vecSig), vecBody, webhook.DefaultTolerance, at.Add(-6 * time.Minute), webhook.ErrTimestamp},
		{"tolerance off", vecSecret, vecHeader(vecSig), vecBody, 0, time.Now(), nil},
		{"rotation: second of two", vecSecret, vecHeader(otherSig + " " + vecSig), vecBody, 0, at, nil},
		{"rotation: first of two", vecSecret, vecHeader(vecSig + " " + otherSig), vecBody, 0, at, nil},
		{"other versions skipped", vecSecret, vecHeader("v1a,abc " + vecSig + " v2,xyz"), vecBody, 0, at, nil},
		{"wrong key", other, vecHeader(vecSig), vecBody, 0, at, webhook.ErrSignature},
		{"body changed", vecSecret, vecHeader(vecSig), `{"test": 2432232315}`, 0, at, webhook.ErrSignature},
		{"body reformatted", vecSecret, vecHeader(vecSig), `{"test":2432232314}`, 0, at, webhook.ErrSignature},
		{"wrong version", vecSecret, vecHeader(strings.Replace(vecSig, "v1,", "v2,", 1)), vecBody, 0, at, webhook.ErrSignature},
		{"no comma", vecSecret, vecHeader(strings.TrimPrefix(vecSig, "v1,")), vecBody, 0, at, webhook.ErrSignature},
		{"truncated", vecSecret, vecHeader(vecSig[:len(vecSig)-2]), vecBody, 0, at, webhook.ErrSignature},
		{"missing id", vecSecret, without(vecHeader(vecSig), "webhook-id"), vecBody, 0, at, webhook.ErrMissingHeader},
		{"missing timestamp", vecSecret, without(vecHeader(vecSig), "webhook-timestamp"), vecBody, 0, at, webhook.ErrMissingHeader},
		{"missing signature", vecSecret, without(vecHeader(vecSig), "webhook-signature"), vecBody, 0, at, webhook.ErrMissingHeader},
		{"timestamp not a number", vecSecret, with(vecHeader(vecSig), "webhook-timestamp", "1614265330.0"), vecBody, 0, at, webhook.ErrTimestamp},
		{"timestamp huge", vecSecret, with(vecHeader(vecSig), "webhook-timestamp", "9223372036854775807"), vecBody, time.Minute, at, webhook.ErrTimestamp},
		{"timestamp tiny", vecSecret, with(vecHeader(vecSig), "webhook-timestamp", "-9223372036854775808"), vecBody, time.Minute, at, webhook.ErrTimestamp},
		{"secret without prefix", strings.TrimPrefix(vecSecret, "whsec_"), vecHeader(vecSig), vecBody, 0, at, webhook.ErrSecret},
		{"secret not base64", "whsec_!!!not-base64!!!", vecHeader(vecSig), vecBody, 0, at, webhook.ErrSecret},
		{"secret empty", "whsec_", vecHeader(vecSig), vecBody, 0, at, webhook.ErrSecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Verify(c.secret, c.header, []byte(c.body), c.tol, c.now)
			if !errors.Is(err, c.want) {
				t.Errorf("Verify = %v, want %v", err, c.want)
			}
			if key := strings.TrimPrefix(c.secret, "whsec_"); err != nil && key != "" && strings.Contains(err.Error(), key) {
				t.Errorf("error %q quotes the secret", err)
			}
		})
	}
}

func TestVerifyTimestampAsSent(t *testing.T) {
	// A receiver verifies the timestamp text it was sent: a sender that
	// padded it signed the padded text.
	sig, _ := webhook.Sign(vecSecret, vecID, vecTS, []byte(vecBody))
	h := with(vecHeader(sig), "webhook-timestamp", "0"+strconv.Itoa(vecTS))
	if err := webhook.Verify(vecSecret, h, []byte(vecBody), 0, time.Time{}); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("Verify of a reformatted timestamp = %v, want ErrSignature", err)
	}
}

func TestSignUnpaddedSecret(t *testing.T) {
	// "c2Vjb25k" plus padding and without it are the same key.
	a, err1 := webhook.Sign("whsec_c2Vjb25kMQ==", "id", 1, nil)
	b, err2 := webhook.Sign("whsec_c2Vjb25kMQ", "id", 1, nil)
	if err1 != nil || err2 != nil || a != b {
		t.Errorf("padded %q %v, unpadded %q %v", a, err1, b, err2)
	}
}

func without(h http.Header, key string) http.Header {
	h.Del(key)
	return h
}

func with(h http.Header, key, value string) http.Header {
	h.Set(key, value)
	return h
}

// FuzzVerify feeds Verify arbitrary headers and bodies: it must never panic,
// never accept what Sign would not produce, and always accept what Sign does.
func FuzzVerify(f *testing.F) {
	f.Add(vecID, strconv.Itoa(vecTS), vecSig, []byte(vecBody))
	f.Add("", "", "", []byte{})
	f.Add(vecID, "-1", "v1,", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sigs string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sigs)
		now := time.Unix(vecTS, 0)
		err := webhook.Verify(vecSecret, h, body, webhook.DefaultTolerance, now)
		if err == nil {
			n, perr := strconv.ParseInt(h.Get("webhook-timestamp"), 10, 64)
			if perr != nil {
				t.Fatalf("accepted a timestamp that is not a number: %q", ts)
			}
			want, _ := webhook.Sign(vecSecret, h.Get("webhook-id"), n, body)
			if strconv.FormatInt(n, 10) == h.Get("webhook-timestamp") && !strings.Contains(h.Get("webhook-signature"), want) {
				t.Fatalf("accepted %q, which does not hold %q", sigs, want)
			}
		}
		if err != nil && !errors.Is(err, webhook.ErrMissingHeader) && !errors.Is(err, webhook.ErrTimestamp) &&
			!errors.Is(err, webhook.ErrSignature) {
			t.Fatalf("unexpected error %v", err)
		}

		// Whatever the id and body, Sign's output verifies.
		n, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || h.Get("webhook-id") == "" {
			return
		}
		sig, serr := webhook.Sign(vecSecret, h.Get("webhook-id"), n, body)
		if serr != nil {
			t.Fatal(serr)
		}
		h.Set("webhook-signature", "v1a,junk "+sig)
		h.Set("webhook-timestamp", strconv.FormatInt(n, 10))
		if err := webhook.Verify(vecSecret, h, body, 0, now); err != nil {
			t.Fatalf("Verify(Sign(…)) = %v", err)
		}
	})
}
