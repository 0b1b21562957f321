package rechat

import (
	"context"
	"fmt"
	"strings"

	"github.com/leadsync/leadsync/providers"
)

// Verify checks X-RECHAT-SIGNATURE, the lowercase hex HMAC-SHA256 of the raw
// body under the hex-decoded key, in constant time. Rechat signs the exact
// bytes it sends (JSON.stringify of the envelope), so the body is verified
// as received, before anything is parsed. Comma-separated signatures and
// several header lines are each tried, as are all configured keys. The
// envelope's timestamp is not checked against a window: Rechat retries a
// failed delivery up to 20 times with the body (and timestamp) it first
// built, and a window would turn its late retries away; dedupe stops
// replays.
//
// It does no I/O and ignores ctx. Every failure wraps
// providers.ErrBadSignature (401) with a reason fit for the log.
func (s *Source) Verify(_ context.Context, r *providers.Request) error {
	var sigs []string
	for _, line := range r.Header.Values(HeaderSignature) {
		for sig := range strings.SplitSeq(line, ",") {
			if sig = strings.TrimSpace(sig); sig != "" {
				sigs = append(sigs, sig)
			}
		}
	}
	if len(sigs) == 0 {
		return fmt.Errorf("missing %s header: %w", HeaderSignature, providers.ErrBadSignature)
	}
	if len(sigs) > maxSignatures {
		sigs = sigs[:maxSignatures]
	}
	if err := s.keys.MatchHex(r.Body, sigs); err != nil {
		return fmt.Errorf("%s: %w: %w", HeaderSignature, err, providers.ErrBadSignature)
	}
	return nil
}

// maxSignatures bounds how many signatures of one request are tried: the
// sender controls how many there are, and Rechat sends one.
const maxSignatures = 8
