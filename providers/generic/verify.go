package generic

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// signature is the compiled signing side of a Config.
type signature struct {
	header, prefix     string
	base64             bool
	newHash            func() hash.Hash
	size               int
	signed             string
	secrets            [][]byte
	tsHeader, tsUnit   string
	idHeader           string
	skew               time.Duration
	splitOnCommas      bool
	algorithm, encName string
}

func newSignature(cfg Config) (signature, error) {
	sg := signature{
		header: cfg.Header, prefix: cfg.Prefix, signed: or(cfg.Signed, SignedBody),
		tsHeader: cfg.TimestampHeader, idHeader: cfg.IDHeader, skew: cfg.MaxClockSkew,
		algorithm: or(cfg.Algorithm, AlgorithmSHA256), encName: or(cfg.Encoding, EncodingHex),
		// A prefix such as Standard Webhooks' "v1," holds a comma, so its
		// list is space-separated only.
		splitOnCommas: !strings.Contains(cfg.Prefix, ","),
	}
	if sg.header == "" {
		return sg, errors.New("signature.header: required")
	}
	switch sg.encName {
	case EncodingHex:
	case EncodingBase64:
		sg.base64 = true
	default:
		return sg, fmt.Errorf("signature.encoding: %q is not hex or base64", sg.encName)
	}
	switch sg.algorithm {
	case AlgorithmSHA256:
		sg.newHash, sg.size = sha256.New, sha256.Size
	case AlgorithmSHA512:
		sg.newHash, sg.size = sha512.New, sha512.Size
	default:
		return sg, fmt.Errorf("signature.algorithm: %q is not sha256 or sha512", sg.algorithm)
	}
	if err := sg.checkTemplate(); err != nil {
		return sg, err
	}
	if sg.tsHeader != "" {
		sg.tsUnit = or(cfg.TimestampUnit, UnitAuto)
		switch sg.tsUnit {
		case UnitSeconds, UnitMillis, UnitRFC3339, UnitAuto:
		default:
			return sg, fmt.Errorf("signature.timestamp_unit: %q is not s, ms, rfc3339 or auto", sg.tsUnit)
		}
	}
	if sg.skew < 0 {
		return sg, fmt.Errorf("max_clock_skew: %s is negative", sg.skew)
	}
	if sg.skew > 0 && sg.tsHeader == "" {
		return sg, errors.New("max_clock_skew: needs signature.timestamp_header")
	}
	if len(cfg.Secrets) == 0 {
		return sg, errors.New("signature.secret: at least one secret is required")
	}
	for i, k := range cfg.Secrets {
		if len(k) == 0 {
			return sg, fmt.Errorf("signature.secrets[%d]: empty", i)
		}
		sg.secrets = append(sg.secrets, append([]byte(nil), k...))
	}
	return sg, nil
}

func (sg *signature) checkTemplate() error {
	switch sg.signed {
	case SignedBody, SignedTimestampBody, SignedTimestampDot, SignedIDTimestampDot:
	default:
		return fmt.Errorf("signature.signed: %q is none of %s, %s, %s, %s", sg.signed,
			SignedBody, SignedTimestampBody, SignedTimestampDot, SignedIDTimestampDot)
	}
	if strings.Contains(sg.signed, "{timestamp}") && sg.tsHeader == "" {
		return fmt.Errorf("signature.timestamp_header: required by signed %s", sg.signed)
	}
	if strings.Contains(sg.signed, "{id}") && sg.idHeader == "" {
		return fmt.Errorf("signature.id_header: required by signed %s", sg.signed)
	}
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Verify checks the request's signature header against the raw body (and
// the timestamp and id headers the template names) and, when MaxClockSkew is
// set, its timestamp against the clock. It does no I/O and ignores ctx. Every
// failure wraps providers.ErrBadSignature (401) with a reason fit for the
// log: it names headers and positions, never a secret, a MAC or a signature.
func (s *Source) Verify(_ context.Context, r *providers.Request) error {
	sg := &s.sig
	msg, err := sg.message(r.Header, r.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", err, providers.ErrBadSignature)
	}
	if err := sg.match(r.Header, msg); err != nil {
		return fmt.Errorf("%s: %w: %w", sg.header, err, providers.ErrBadSignature)
	}
	if err := sg.checkTimestamp(r.Header, s.now()); err != nil {
		return fmt.Errorf("%w: %w", err, providers.ErrBadSignature)
	}
	return nil
}

// message builds the signed message from the template.
func (sg *signature) message(h http.Header, body []byte) ([]byte, error) {
	var ts, id string
	if strings.Contains(sg.signed, "{timestamp}") {
		if ts = strings.TrimSpace(h.Get(sg.tsHeader)); ts == "" {
			return nil, fmt.Errorf("missing %s header (signed %s)", sg.tsHeader, sg.signed)
		}
	}
	if strings.Contains(sg.signed, "{id}") {
		if id = strings.TrimSpace(h.Get(sg.idHeader)); id == "" {
			return nil, fmt.Errorf("missing %s header (signed %s)", sg.idHeader, sg.signed)
		}
	}
	return buildMessage(sg.signed, id, ts, body), nil
}

func buildMessage(signed, id, ts string, body []byte) []byte {
	var pre string
	switch signed {
	case SignedTimestampBody:
		pre = ts
	case SignedTimestampDot:
		pre = ts + "."
	case SignedIDTimestampDot:
		pre = id + "." + ts + "."
	}
	msg := make([]byte, 0, len(pre)+len(body))
	return append(append(msg, pre...), body...)
}

// maxSignatures bounds how many signatures of one request are tried, since
// the sender controls how many there are and each costs an HMAC per secret.
const maxSignatures = 16

// match decodes every signature the header lists and compares each, in
// constant time, with the HMAC of msg under every secret. Every pair is
// compared even after a match, so that timing reveals neither which secret
// nor which signature matched.
func (sg *signature) match(h http.Header, msg []byte) error {
	items := sg.split(h.Values(sg.header))
	if len(items) == 0 {
		return errors.New("missing or empty header")
	}
	var sigs [][]byte
	var reasons []string
	for i, it := range items {
		sig, why := sg.decode(it)
		if why != "" {
			reasons = append(reasons, fmt.Sprintf("signature %d of %d %s", i+1, len(items), why))
			continue
		}
		sigs = append(sigs, sig)
	}
	ok := false
	for _, k := range sg.secrets {
		m := hmac.New(sg.newHash, k)
		m.Write(msg)
		mac := m.Sum(nil)
		for _, sig := range sigs {
			ok = hmac.Equal(mac, sig) || ok // hmac.Equal first: never short-circuited
		}
	}
	switch {
	case ok:
		return nil
	case len(reasons) > 3:
		return errors.New(strings.Join(reasons[:3], "; ") + fmt.Sprintf("; %d more malformed", len(reasons)-3))
	case len(reasons) > 0:
		return errors.New(strings.Join(reasons, "; "))
	}
	return providers.ErrNoMatch
}

// split returns the signatures of every header line: separated by spaces,
// and by commas too unless the prefix holds one. At most maxSignatures are
// kept.
func (sg *signature) split(lines []string) []string {
	sep := func(r rune) bool { return r == ' ' || r == '\t' || sg.splitOnCommas && r == ',' }
	var out []string
	for _, line := range lines {
		for _, f := range strings.FieldsFunc(line, sep) {
			if len(out) == maxSignatures {
				return out
			}
			out = append(out, f)
		}
	}
	return out
}

// decode strips the prefix (case-insensitively: "SHA256=" is "sha256=") and
// decodes one signature; why says what is wrong with it, or is empty.
func (sg *signature) decode(item string) (sig []byte, why string) {
	if p := sg.prefix; p != "" {
		if len(item) < len(p) || !strings.EqualFold(item[:len(p)], p) {
			return nil, fmt.Sprintf("lacks the prefix %q", p)
		}
		item = item[len(p):]
	}
	var err error
	if sg.base64 {
		sig, err = decodeBase64(item)
	} else {
		sig, err = hex.DecodeString(item)
	}
	switch {
	case err != nil:
		return nil, "is not " + sg.encName
	case len(sig) != sg.size:
		return nil, fmt.Sprintf("is %d bytes, want %d (HMAC-%s)", len(sig), sg.size, strings.ToUpper(sg.algorithm))
	}
	return sig, ""
}

// decodeBase64 accepts standard and URL-safe base64, padded or not: senders
// differ, and the MAC comparison, not the alphabet, is what protects.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}
