package reapit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Limits on fetching signing keys. A kid is fetched at most once per
// fetchInterval whatever the outcome, and at most maxFetches distinct kids
// are fetched per fetchInterval in all: without that bound, a sender making
// up a new kid for every request could make us call Reapit's API (and spend
// its rate limit) once per request. fetchTimeout bounds one fetch, token
// included, well inside the 5–10 s providers wait for an answer (the
// request that triggers a fetch waits for it).
const (
	fetchInterval = time.Minute
	maxFetches    = 10
	fetchTimeout  = 3 * time.Second
)

// errKeyNotFound is what fetchKey returns when Reapit does not know the kid.
var errKeyNotFound = errors.New("key id not found")

// keyring finds Ed25519 public keys by kid: configured keys, then memory,
// then the KeyCache, then the API. Concurrent lookups of one kid share one
// fetch.
type keyring struct {
	static   map[string]ed25519.PublicKey
	cache    KeyCache // may be nil
	canFetch bool
	fetch    func(ctx context.Context, kid string) (ed25519.PublicKey, error)
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	mem     map[string]ed25519.PublicKey
	tried   map[string]attempt // fetches started in the last fetchInterval
	flights map[string]*flight
}

// attempt is a fetch of a kid: when it started and, once it has failed, the
// error every lookup of that kid returns until fetchInterval has passed.
type attempt struct {
	at  time.Time
	err error
}

// flight is a fetch in progress; done is closed once key or err is set.
type flight struct {
	done chan struct{}
	key  ed25519.PublicKey
	err  error
}

// get returns the key for kid, or an error wrapping providers.ErrBadSignature
// (kid unknown) or providers.ErrUnavailable (could not find out).
func (k *keyring) get(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if pub, ok := k.static[kid]; ok {
		return pub, nil
	}
	if pub, ok := k.memory(kid); ok {
		return pub, nil
	}
	if pub, ok := k.cached(kid); ok {
		return pub, nil
	}
	if !k.canFetch {
		return nil, fmt.Errorf("%s: unknown key id %q (not in public_keys, and no client credentials to fetch it): %w",
			HeaderSignature, kid, providers.ErrBadSignature)
	}
	f, err := k.join(kid)
	if err != nil {
		return nil, err
	}
	select {
	case <-f.done:
		return f.key, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for signing key %q: %w: %w", kid, ctx.Err(), providers.ErrUnavailable)
	}
}

func (k *keyring) memory(kid string) (ed25519.PublicKey, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	pub, ok := k.mem[kid]
	return pub, ok
}

// cached looks kid up in the KeyCache, outside the lock since the cache may
// read a database, and remembers a hit in memory.
func (k *keyring) cached(kid string) (ed25519.PublicKey, bool) {
	if k.cache == nil {
		return nil, false
	}
	b, ok := k.cache.GetKey(kid)
	if !ok {
		return nil, false
	}
	if len(b) != ed25519.PublicKeySize {
		k.log.Warn("ignoring cached signing key of wrong size", "kid", kid, "size", len(b))
		return nil, false
	}
	pub := ed25519.PublicKey(append([]byte(nil), b...))
	k.remember(kid, pub)
	return pub, true
}

func (k *keyring) remember(kid string, pub ed25519.PublicKey) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.mem == nil {
		k.mem = map[string]ed25519.PublicKey{}
	}
	k.mem[kid] = pub
}

// join returns the fetch of kid in progress, starts one, or refuses: with
// the error of a fetch of kid that failed less than fetchInterval ago, or
// because too many kids were fetched in that time.
func (k *keyring) join(kid string) (*flight, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if pub, ok := k.mem[kid]; ok { // fetched while we looked in the cache
		f := &flight{done: make(chan struct{}), key: pub}
		close(f.done)
		return f, nil
	}
	if f, ok := k.flights[kid]; ok {
		return f, nil
	}
	now := k.now()
	for id, a := range k.tried {
		if now.Sub(a.at) >= fetchInterval || now.Before(a.at) {
			delete(k.tried, id)
		}
	}
	if a, ok := k.tried[kid]; ok {
		return nil, a.err
	}
	if len(k.tried) >= maxFetches {
		return nil, fmt.Errorf("%s: signing key %q not fetched: %d unknown key ids already fetched in the last %s: %w",
			HeaderSignature, kid, maxFetches, fetchInterval, providers.ErrUnavailable)
	}
	if k.tried == nil {
		k.tried = map[string]attempt{}
		k.flights = map[string]*flight{}
	}
	k.tried[kid] = attempt{at: now, err: fmt.Errorf("%s: signing key %q: fetched less than %s ago: %w",
		HeaderSignature, kid, fetchInterval, providers.ErrUnavailable)}
	f := &flight{done: make(chan struct{})}
	k.flights[kid] = f
	go k.run(kid, f)
	return f, nil
}

// run fetches kid for every caller waiting on f. It runs on its own
// goroutine, detached from any one request, so that the first caller giving
// up does not fail the others; fetchTimeout bounds it.
func (k *keyring) run(kid string, f *flight) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	pub, err := k.fetch(ctx, kid)
	switch {
	case err == nil:
		f.key = pub
		k.log.Info("fetched signing key", "kid", kid)
		if k.cache != nil {
			if perr := k.cache.PutKey(kid, append([]byte(nil), pub...)); perr != nil {
				k.log.Warn("could not persist signing key", "kid", kid, "error", perr)
			}
		}
	case errors.Is(err, errKeyNotFound):
		f.err = fmt.Errorf("%s: unknown key id %q (not found by the API): %w", HeaderSignature, kid, providers.ErrBadSignature)
		k.log.Warn("signing key not found", "kid", kid)
	default:
		f.err = fmt.Errorf("%s: fetch signing key %q: %w: %w", HeaderSignature, kid, err, providers.ErrUnavailable)
		k.log.Warn("signing key fetch failed", "kid", kid, "error", err)
	}
	k.mu.Lock()
	if f.err == nil {
		if k.mem == nil {
			k.mem = map[string]ed25519.PublicKey{}
		}
		k.mem[kid] = pub
	} else if a, ok := k.tried[kid]; ok {
		a.err = f.err
		k.tried[kid] = a
	}
	delete(k.flights, kid)
	k.mu.Unlock()
	close(f.done)
}

// jwks is the answer of GET /webhooks/signing/{kid}.
type jwks struct {
	Keys []struct {
		Kid string `json:"kid"`
		Crv string `json:"crv"`
		X   string `json:"x"`
	} `json:"keys"`
}

// maxKeysBody bounds the key set read from the API.
const maxKeysBody = 64 << 10

// fetchKey gets kid from the API. It returns errKeyNotFound for a 404 or a
// key set without kid; any other failure is ours to retry.
func (s *Source) fetchKey(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	resp, err := s.apiGet(ctx, s.apiURL+"/webhooks/signing/"+url.PathEscape(kid), nil, maxKeysBody)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.status == http.StatusNotFound:
		return nil, errKeyNotFound
	case resp.status != http.StatusOK:
		return nil, fmt.Errorf("signing keys endpoint answered %s", statusText(resp.status))
	}
	var set jwks
	if err := json.Unmarshal(resp.body, &set); err != nil {
		return nil, fmt.Errorf("decode signing keys: %w", err)
	}
	for _, key := range set.Keys {
		if key.Kid != kid {
			continue
		}
		if !strings.EqualFold(key.Crv, "Ed25519") {
			return nil, fmt.Errorf("signing key %q has crv %q, want Ed25519", kid, printable(key.Crv))
		}
		b, ok := decodeBase64URL(key.X)
		if !ok || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing key %q: x is not a base64url Ed25519 public key (32 bytes)", kid)
		}
		return ed25519.PublicKey(b), nil
	}
	return nil, errKeyNotFound
}
