package providers_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
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

func TestMatchHex(t *testing.T) {
	keys := providers.NewHMACKeys([][]byte{[]byte("other"), []byte(rfcKey)})
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
		for range 2 { // a pooled state answers the same the second time
			err := keys.MatchHex(msg, c.sigs)
			if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: error spans lines: %q", c.name, err)
			}
		}
	}
	if err := keys.MatchHex(msg, []string{wrong}); !errors.Is(err, providers.ErrNoMatch) {
		t.Errorf("err = %v, want ErrNoMatch", err)
	}
	if providers.NewHMACKeys(nil).MatchHex(msg, []string{rfcMAC}) == nil {
		t.Error("matched with no keys")
	}
}

// A MAC state goes back to its pool after each use; every later use must
// start from the key alone, whatever the message before it was, also when
// goroutines share the pool.
func TestHMACKeysReuse(t *testing.T) {
	keys := providers.NewHMACKeys([][]byte{[]byte(rfcKey), []byte("second key")})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				msg := []byte(strings.Repeat(fmt.Sprint(g, i), i%50))
				for _, k := range []string{rfcKey, "second key"} {
					if err := keys.MatchHex(msg, []string{providers.SignHMACSHA256Hex([]byte(k), msg)}); err != nil {
						t.Errorf("goroutine %d message %d key %q: %v", g, i, k, err)
						return
					}
				}
				if keys.MatchHex(msg, []string{providers.SignHMACSHA256Hex([]byte("other"), msg)}) == nil {
					t.Errorf("goroutine %d message %d: a MAC under another key matched", g, i)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := providers.NewHMACKeys([][]byte{[]byte(rfcKey)}).MatchHex([]byte(rfcMsg), []string{rfcMAC}); got != nil {
		t.Errorf("RFC 4231 case 2: %v", got)
	}
}

// FuzzHMACKeysMatchHex holds the pooled keys to a MAC made afresh: a
// message signed with the key matches, one signed with another key does not,
// also after the state was used for another message.
func FuzzHMACKeysMatchHex(f *testing.F) {
	f.Add([]byte(rfcKey), []byte(rfcMsg), []byte("other"))
	f.Add([]byte("k"), []byte(""), []byte("k2"))
	f.Add([]byte(strings.Repeat("long key ", 20)), []byte(strings.Repeat("body", 300)), []byte("x"))
	f.Fuzz(func(t *testing.T, key, msg, other []byte) {
		// Keys that differ only in trailing zero bytes make the same MAC
		// (HMAC pads a short key with zeros): such an other is no other.
		if len(key) == 0 || len(other) == 0 ||
			providers.SignHMACSHA256Hex(key, msg) == providers.SignHMACSHA256Hex(other, msg) {
			return
		}
		keys := providers.NewHMACKeys([][]byte{key})
		for _, m := range [][]byte{msg, append(msg, 'x'), msg} {
			if err := keys.MatchHex(m, []string{providers.SignHMACSHA256Hex(key, m)}); err != nil {
				t.Fatalf("own MAC: %v", err)
			}
			if err := keys.MatchHex(m, []string{providers.SignHMACSHA256Hex(other, m)}); !errors.Is(err, providers.ErrNoMatch) {
				t.Fatalf("another key's MAC: %v, want ErrNoMatch", err)
			}
		}
	})
}
