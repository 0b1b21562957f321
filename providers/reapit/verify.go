package reapit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// Verify checks the request's signature on the raw body, by the configured
// scheme (see the package doc). It does I/O only to fetch an Ed25519 key it
// has not seen, and honours ctx while waiting for it. A missing or invalid
// signature, an unknown kid or a timestamp outside the window wraps
// providers.ErrBadSignature (401); a key that could not be fetched wraps
// providers.ErrUnavailable (503, so that Reapit retries). Reasons name
// headers and key ids, never a secret, a signature or a key.
func (s *Source) Verify(ctx context.Context, r *providers.Request) error {
	switch s.mode {
	case SignatureLegacy:
		return s.verifyLegacy(r.Header)
	case SignatureEd25519:
		return s.verifyEd25519(ctx, r.Header, r.Body)
	}
	// any: the legacy header is checked first because it needs no I/O; when
	// it fails, the X-Signature error is the more useful one to report.
	hasX, hasLegacy := present(r.Header, HeaderSignature), present(r.Header, HeaderLegacySignature)
	switch {
	case !hasX && !hasLegacy:
		return fmt.Errorf("missing %s and %s headers: %w", HeaderSignature, HeaderLegacySignature, providers.ErrBadSignature)
	case hasLegacy:
		err := s.verifyLegacy(r.Header)
		if err == nil || !hasX {
			return err
		}
	}
	return s.verifyEd25519(ctx, r.Header, r.Body)
}

func present(h http.Header, name string) bool { return strings.TrimSpace(h.Get(name)) != "" }

// verifyLegacy compares Reapit-Webhook-Signature with base64(client_id).
// Both sides are hashed first so that the comparison takes the same time
// whatever the header's length.
func (s *Source) verifyLegacy(h http.Header) error {
	got := strings.TrimSpace(h.Get(HeaderLegacySignature))
	if got == "" {
		return fmt.Errorf("missing %s header: %w", HeaderLegacySignature, providers.ErrBadSignature)
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(LegacySignature(s.clientID)))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return fmt.Errorf("%s does not match base64 of the configured client_id: %w",
			HeaderLegacySignature, providers.ErrBadSignature)
	}
	return nil
}

// verifyEd25519 checks X-Signature. The timestamp is checked before the key
// is looked up, so that a stale or replayed request never causes a fetch.
func (s *Source) verifyEd25519(ctx context.Context, h http.Header, body []byte) error {
	vals := h.Values(HeaderSignature)
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return fmt.Errorf("missing %s header: %w", HeaderSignature, providers.ErrBadSignature)
	}
	if len(vals) > 1 {
		return fmt.Errorf("%d %s headers, want one: %w", len(vals), HeaderSignature, providers.ErrBadSignature)
	}
	sh, err := parseSignatureHeader(vals[0])
	if err != nil {
		return fmt.Errorf("%s: %w: %w", HeaderSignature, err, providers.ErrBadSignature)
	}
	if err := s.checkSkew(sh.ts); err != nil {
		return err
	}
	pub, err := s.keys.get(ctx, sh.kid)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(sh.tsText)+len(body))
	msg = append(append(msg, sh.tsText...), body...)
	if !ed25519.Verify(pub, msg, sh.sig) {
		return fmt.Errorf("%s: signature does not verify with key %q over the timestamp and body: %w",
			HeaderSignature, sh.kid, providers.ErrBadSignature)
	}
	return nil
}

func (s *Source) checkSkew(ts time.Time) error {
	if s.skew <= 0 {
		return nil
	}
	now := s.now()
	d := now.Sub(ts)
	if d > s.skew || d < -s.skew {
		return fmt.Errorf("%s timestamp %s (%s) outside window of ±%s around %s: %w",
			HeaderSignature, ts.UTC().Format(lead.TimeFormat), describeOffset(d), s.skew,
			now.UTC().Format(lead.TimeFormat), providers.ErrBadSignature)
	}
	return nil
}

// describeOffset says how far a timestamp is from now in words, because the
// sign of a bare duration is easy to misread in a log line.
func describeOffset(d time.Duration) string {
	if d >= 0 {
		return d.Round(time.Second).String() + " in the past"
	}
	return (-d).Round(time.Second).String() + " in the future"
}

// sigHeader is a parsed X-Signature.
type sigHeader struct {
	kid    string
	tsText string    // the seconds exactly as sent: the signed message starts with them
	ts     time.Time // tsText as an instant
	sig    []byte    // ed25519.SignatureSize bytes
}

// Bounds on what parseSignatureHeader accepts. maxSeconds is the last second
// of the year 9999, so that a timestamp always formats as RFC 3339 and the
// skew arithmetic cannot overflow.
const (
	maxHeaderLen = 512
	maxKidLen    = 128
	maxSeconds   = 253402300799
)

// parseSignatureHeader parses "s:<kid>:<unix seconds>:<signature>". Its
// errors are reasons fit for a log: they never echo the signature, and echo
// neither a kid nor a timestamp that failed validation.
func parseSignatureHeader(v string) (sigHeader, error) {
	v = strings.TrimSpace(v)
	if len(v) > maxHeaderLen {
		return sigHeader{}, fmt.Errorf("%d bytes long, over %d", len(v), maxHeaderLen)
	}
	parts := strings.Split(v, ":")
	if len(parts) != 4 || parts[0] != "s" {
		return sigHeader{}, errors.New("not of the form s:<kid>:<unix seconds>:<signature>")
	}
	sh := sigHeader{kid: parts[1], tsText: parts[2]}
	if !validKid(sh.kid) {
		return sigHeader{}, fmt.Errorf("key id is not 1-%d letters, digits, '.', '_', '~' or '-'", maxKidLen)
	}
	secs, ok := parseSeconds(sh.tsText)
	if !ok {
		return sigHeader{}, errors.New("timestamp is not Unix seconds")
	}
	sh.ts = time.Unix(secs, 0)
	sig, ok := decodeBase64URL(parts[3])
	switch {
	case !ok:
		return sigHeader{}, errors.New("signature is not base64url")
	case len(sig) != ed25519.SignatureSize:
		return sigHeader{}, fmt.Errorf("signature is %d bytes, want %d (Ed25519)", len(sig), ed25519.SignatureSize)
	}
	sh.sig = sig
	return sh, nil
}

// validKid accepts the URL-unreserved characters, so that a kid can go into
// the key fetch path as it is and into a log line without escaping.
func validKid(kid string) bool {
	if kid == "" || len(kid) > maxKidLen {
		return false
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// parseSeconds accepts only plain decimal digits (no sign, no spaces), since
// the text itself is part of the signed message.
func parseSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 12 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n <= maxSeconds
}

// decodeBase64URL decodes base64url as Reapit sends it (no padding), and
// leniently also the standard alphabet and correct '=' padding, since what
// is verified is the decoded signature, not its spelling. It is strict
// about everything else: no line breaks, no stray padding, and no non-zero
// trailing bits (each byte string has exactly one accepted spelling per
// alphabet and padding choice).
func decodeBase64URL(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	trimmed := strings.TrimRight(s, "=")
	if pad := len(s) - len(trimmed); pad > 2 || (pad > 0 && len(s)%4 != 0) {
		return nil, false
	}
	trimmed = strings.NewReplacer("+", "-", "/", "_").Replace(trimmed)
	b, err := base64.RawURLEncoding.Strict().DecodeString(trimmed)
	return b, err == nil
}
