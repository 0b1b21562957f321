package webhook

// Signing and verifying as Standard Webhooks 1.0 defines it: the signed
// content is "<webhook-id>.<webhook-timestamp>.<body>", the MAC is
// HMAC-SHA256 keyed with the base64-decoded part of the "whsec_…" secret, and
// webhook-signature holds space-separated "v1,<base64 MAC>" entries so that a
// sender can sign with an old and a new key while a secret is rotated.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of Standard Webhooks.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is the clock skew receivers commonly accept (the Standard
// Webhooks libraries use 5 minutes); pass it to Verify.
const DefaultTolerance = 5 * time.Minute

// Errors Verify returns. None of them quotes the secret or the signatures.
var (
	// ErrSecret: the secret is not "whsec_" followed by base64.
	ErrSecret = errors.New("webhook: secret must be whsec_ followed by base64")
	// ErrMissingHeader: webhook-id, webhook-timestamp or webhook-signature is absent.
	ErrMissingHeader = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	// ErrTimestamp: webhook-timestamp is not Unix seconds within the tolerance.
	ErrTimestamp = errors.New("webhook: webhook-timestamp invalid or outside tolerance")
	// ErrSignature: no v1 signature matches.
	ErrSignature = errors.New("webhook: no matching signature")
)

// secretPrefix starts every Standard Webhooks secret.
const secretPrefix = "whsec_"

// decodeSecret returns the HMAC key of a "whsec_<base64>" secret. The error
// never quotes the secret.
func decodeSecret(secret string) ([]byte, error) {
	enc, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		// Some tools strip the padding; the key is the same.
		key, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil || len(key) == 0 {
		return nil, ErrSecret
	}
	return key, nil
}

// mac returns the base64 HMAC-SHA256 of "id.ts.body" under key. ts is the
// header's text: a receiver signs what it was sent, not a reformatting of it.
func mac(key []byte, id string, ts string, body []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// Sign returns the webhook-signature value "v1,<base64 HMAC-SHA256>" for a
// message with webhook-id id, webhook-timestamp ts (Unix seconds) and the
// body bytes exactly as sent. secret is "whsec_<base64>".
func Sign(secret string, id string, ts int64, body []byte) (string, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return "", err
	}
	return "v1," + mac(key, id, strconv.FormatInt(ts, 10), body), nil
}

// Verify checks a Standard Webhooks request as a receiver would: header
// carries webhook-id, webhook-timestamp and webhook-signature, body is the
// raw request body. It passes when any of the space-separated v1 signatures
// matches (compared in constant time) and, when tolerance > 0, the
// timestamp is within tolerance of now; tolerance 0 turns the time check
// off (replaying stored requests in tests). Entries of other versions
// ("v1a,…") are skipped. The error is one of the Err values of this package.
func Verify(secret string, header http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeader
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrTimestamp
	}
	// Sub saturates, so a hostile timestamp cannot overflow the comparison.
	if skew := time.Unix(ts, 0).Sub(now); tolerance > 0 && (skew > tolerance || skew < -tolerance) {
		return ErrTimestamp
	}
	want := []byte(mac(key, id, tsText, body))
	for _, entry := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(entry, ",")
		if ok && version == "v1" && subtle.ConstantTimeCompare([]byte(sig), want) == 1 {
			return nil
		}
	}
	return ErrSignature
}
