package providers_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/providers"
)

// RFC 4231 test case 2.
const (
	rfcKey = "Jefe"
	rfcMsg = "what do ya want for nothing?"
	rfcMAC = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
)

func TestSignHMACSHA256Hex(t *testing.T) {
	if got := providers.SignHMACSHA256Hex([]byte(rfcKey), []byte(rfcMsg)); got != rfcMAC {
		t.Errorf("SignHMACSHA256Hex = %s, want %s", got, rfcMAC)
	}
}

func TestMatchHMACSHA256Hex(t *testing.T) {
	keys := [][]byte{[]byte("other"), []byte(rfcKey)}
	msg := []byte(rfcMsg)
	wrong := providers.SignHMACSHA256Hex([]byte("x"), msg)
	for _, c := range []struct {
		name string
		sigs []string
		err  string // "" = match
	}{
		{"second key", []string{rfcMAC}, ""},
		{"upper case", []string{strings.ToUpper(rfcMAC)}, ""},
		{"second signature", []string{wrong, rfcMAC}, ""},
		{"malformed beside match", []string{"xyz", rfcMAC}, ""},
		{"none", nil, "no signature"},
		{"wrong", []string{wrong}, providers.ErrNoMatch.Error()},
		{"not hex", []string{"xyz"}, "signature 1 of 1 is not hex"},
		{"short", []string{rfcMAC[:62]}, "signature 1 of 1 is 31 bytes, want 32 (HMAC-SHA256)"},
		{"malformed beside wrong", []string{wrong, "", "ab"}, "signature 2 of 3 is 0 bytes, want 32 (HMAC-SHA256); signature 3 of 3 is 1 bytes"},
		{"many malformed", []string{"x", "x", "x", "x", "x"}, "signature 3 of 5 is not hex; 2 more malformed"},
	} {
		err := providers.MatchHMACSHA256Hex(keys, msg, c.sigs)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", c.name, err)
		}
	}
	if err := providers.MatchHMACSHA256Hex(keys, msg, []string{wrong}); !errors.Is(err, providers.ErrNoMatch) {
		t.Errorf("err = %v, want ErrNoMatch", err)
	}
	if providers.MatchHMACSHA256(nil, msg, [][]byte{nil}) || providers.MatchHMACSHA256(keys, msg, nil) {
		t.Error("MatchHMACSHA256 matched with no keys or no signatures")
	}
}
