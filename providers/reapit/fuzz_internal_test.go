package reapit

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed corpora live in testdata/fuzz/<Name>/, so that plain `go test`
// replays them.

// FuzzParseSignatureHeader feeds arbitrary X-Signature values to the
// parser. It must never panic; what it accepts must be well-formed (a kid
// fit for a URL path, a 64-byte signature, a timestamp that is the decimal
// text's value) and must round-trip through the canonical spelling; what it
// refuses must be explained in one short line that does not echo the
// signature.
func FuzzParseSignatureHeader(f *testing.F) {
	f.Add("s:k1:1712918356:" + strings.Repeat("A", 86))
	f.Fuzz(func(t *testing.T, v string) {
		sh, err := parseSignatureHeader(v)
		if err != nil {
			msg := err.Error()
			if len(msg) > 100 || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("reason %q too long or not one line", msg)
			}
			if parts := strings.Split(v, ":"); len(parts) == 4 && len(parts[3]) >= 8 && strings.Contains(msg, parts[3]) {
				t.Fatalf("reason %q echoes the signature", msg)
			}
			return
		}
		if !validKid(sh.kid) || len(sh.sig) != ed25519.SignatureSize {
			t.Fatalf("accepted kid %q, %d-byte signature", sh.kid, len(sh.sig))
		}
		secs, perr := strconv.ParseInt(sh.tsText, 10, 64)
		if perr != nil || !sh.ts.Equal(time.Unix(secs, 0)) || sh.ts.UTC().Year() > 9999 {
			t.Fatalf("timestamp %q parsed as %s", sh.tsText, sh.ts)
		}
		canon := "s:" + sh.kid + ":" + sh.tsText + ":" + base64.RawURLEncoding.EncodeToString(sh.sig)
		again, err := parseSignatureHeader(canon)
		if err != nil || again.kid != sh.kid || again.tsText != sh.tsText || string(again.sig) != string(sh.sig) {
			t.Fatalf("canonical form %q of %q does not round-trip: %v", canon, v, err)
		}
	})
}
