package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// HMAC-SHA256 helpers shared by the providers whose webhooks are signed with
// a shared key as hex HMAC-SHA256 (Hemnet, Rechat). They live here so that
// the one subtle part, comparing in constant time, is written and tested
// once. The generic provider, which also takes SHA-512 and base64, matches
// with its own and answers with the same ErrNoMatch.

// ErrNoMatch is returned by HMACKeys.MatchHex for well-formed signatures
// that match no configured key: a wrong or rotated-away key, or a body
// altered in transit.
var ErrNoMatch = errors.New("signature matches no configured key")

// maxReasons bounds how many malformed signatures an error lists, because a
// sender controls how many there are and the error ends up in a log line.
const maxReasons = 3

// SignHMACSHA256Hex returns the lowercase hex HMAC-SHA256 of msg under key:
// what a sender puts in its signature header.
func SignHMACSHA256Hex(key, msg []byte) string {
	return hex.EncodeToString(hmacSHA256(key, msg))
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

// HMACKeys are the keys a source's HMAC-SHA256 signatures may be made with,
// each with a pool of MAC states: hmac.New hashes the padded key and makes
// half a dozen allocations, on every request, while a state that was used
// once goes back to its keyed start from a saved copy. A source builds
// its HMACKeys once (they live as long as its configuration), so a key
// rotated away leaves memory with the source that held it.
type HMACKeys struct {
	pools []sync.Pool // one per key
}

// NewHMACKeys keeps keys (not copied: the caller hands them over).
func NewHMACKeys(keys [][]byte) *HMACKeys {
	h := &HMACKeys{pools: make([]sync.Pool, len(keys))}
	for i := range h.pools {
		k := keys[i]
		h.pools[i].New = func() any { return hmac.New(sha256.New, k) }
	}
	return h
}

// sum is HMAC-SHA256(key i, msg).
func (h *HMACKeys) sum(i int, msg []byte) []byte {
	m := h.pools[i].Get().(hash.Hash)
	m.Reset()
	m.Write(msg)
	out := m.Sum(make([]byte, 0, sha256.Size))
	h.pools[i].Put(m)
	return out
}

// MatchHex reports whether any of sigsHex, hex-encoded (either case) as
// Hemnet and Rechat send them, is HMAC-SHA256(k, msg) for any of the keys:
// nil when one matches. Each MAC is computed once per key and compared with
// hmac.Equal, and every pair is compared even after a match, so that timing
// reveals neither the MAC nor which key or signature matched. Otherwise its
// one-line error says why, naming signatures by position and never echoing
// them: malformed ones (not hex, not 32 bytes) are reported first, since
// they point at a sender bug rather than a wrong key; when all are
// well-formed it is ErrNoMatch. A malformed entry does not stop a
// well-formed one from matching, so that a sender mid-rotation still passes.
func (h *HMACKeys) MatchHex(msg []byte, sigsHex []string) error {
	if len(sigsHex) == 0 {
		return errors.New("no signature")
	}
	var (
		sigs    [][]byte
		reasons []string
	)
	for i, h := range sigsHex {
		s, err := hex.DecodeString(h)
		switch {
		case err != nil:
			reasons = append(reasons, fmt.Sprintf("signature %d of %d is not hex", i+1, len(sigsHex)))
		case len(s) != sha256.Size:
			reasons = append(reasons, fmt.Sprintf("signature %d of %d is %d bytes, want %d (HMAC-SHA256)",
				i+1, len(sigsHex), len(s), sha256.Size))
		default:
			sigs = append(sigs, s)
		}
	}
	ok := false
	for i := range h.pools {
		mac := h.sum(i, msg)
		for _, s := range sigs {
			ok = hmac.Equal(mac, s) || ok // hmac.Equal first: never short-circuited
		}
	}
	if ok {
		return nil
	}
	if n := len(reasons); n > maxReasons {
		reasons = append(reasons[:maxReasons], fmt.Sprintf("%d more malformed", n-maxReasons))
	}
	if len(reasons) > 0 {
		return errors.New(strings.Join(reasons, "; "))
	}
	return ErrNoMatch
}
