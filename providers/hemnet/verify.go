package hemnet

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// Verify checks the request's X-Signature against the raw body and, when
// MaxClockSkew is set, its X-Timestamp against the clock. It does no I/O and
// ignores ctx. Every failure wraps providers.ErrBadSignature (401) with a
// reason fit for the log: it names headers and positions, never a key, a MAC
// or a signature.
func (s *Source) Verify(_ context.Context, r *providers.Request) error {
	if err := s.verifySignature(r.Header, r.Body); err != nil {
		return err
	}
	return s.verifyTimestamp(r.Header)
}

// verifySignature checks X-Signature first: a request that is not from
// Hemnet at all should be reported as such, not as a clock problem.
func (s *Source) verifySignature(h http.Header, body []byte) error {
	sigs := splitSignatures(h.Values(HeaderSignature))
	if len(sigs) == 0 {
		return fmt.Errorf("missing %s header: %w", HeaderSignature, providers.ErrBadSignature)
	}
	if err := s.keys.MatchHex(body, sigs); err != nil {
		return fmt.Errorf("%s: %w: %w", HeaderSignature, err, providers.ErrBadSignature)
	}
	return nil
}

// splitSignatures returns the comma-separated signatures of every
// X-Signature line, trimmed, skipping empty ones ("a," or "a, b" are what
// a hand-rolled sender may produce during rotation).
func splitSignatures(lines []string) []string {
	var out []string
	for _, line := range lines {
		for sig := range strings.SplitSeq(line, ",") {
			if sig = strings.TrimSpace(sig); sig != "" {
				out = append(out, sig)
			}
		}
	}
	return out
}

func (s *Source) verifyTimestamp(h http.Header) error {
	if s.skew <= 0 {
		return nil
	}
	raw := h.Get(HeaderTimestamp)
	if strings.TrimSpace(raw) == "" {
		return fmt.Errorf("missing %s header (required while max_clock_skew is %s): %w",
			HeaderTimestamp, s.skew, providers.ErrBadSignature)
	}
	ts, ok := parseMillis(raw)
	if !ok {
		return fmt.Errorf("%s %q is not Unix milliseconds: %w", HeaderTimestamp, truncate(raw, 32), providers.ErrBadSignature)
	}
	now := s.now()
	d := now.Sub(ts)
	if d > s.skew || d < -s.skew {
		return fmt.Errorf("timestamp %s (%s) outside window of ±%s around %s: %w",
			ts.UTC().Format(lead.TimeFormat), describeOffset(d), s.skew,
			now.UTC().Format(lead.TimeFormat), providers.ErrBadSignature)
	}
	return nil
}

// describeOffset says how far a timestamp is from now in words, because the
// sign of a bare duration is easy to misread in a log line.
func describeOffset(d time.Duration) string {
	if d >= 0 {
		return d.Round(time.Millisecond).String() + " in the past"
	}
	return (-d).Round(time.Millisecond).String() + " in the future"
}

// maxMillis bounds the timestamps parseMillis accepts to the year 9999, so
// that the result formats as an RFC 3339 date (lead.Time) and the skew
// arithmetic cannot overflow. Negative values are refused too: Hemnet's
// clock is not before 1970, and the zero time.Time would marshal as null.
const maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z

// parseMillis parses X-Timestamp: decimal Unix milliseconds.
func parseMillis(s string) (time.Time, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms < 0 || ms > maxMillis {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// truncate shortens a sender-controlled value before it goes into an error
// (and so a log line).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
