package reapit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/reapit"
)

// signedBy returns a request signed with testPriv under kid.
func signedBy(kid string) *providers.Request {
	body := reapit.Sample("OXF200060", "OXF")
	return requestSigned(body, reapit.SignEd25519(testPriv, kid, testNow, body))
}

func wantFetches(t *testing.T, f *fakeReapit, kid string, n int) {
	t.Helper()
	if _, got := f.counts(); got[kid] != n {
		t.Errorf("fetches of %q = %d, want %d", kid, got[kid], n)
	}
}

// TestKeyFetchedOnceAndCached: a kid not configured is fetched with a
// token, then served from memory, and a new Source sharing the KeyCache
// (a restart) does not fetch it again.
func TestKeyFetchedOnceAndCached(t *testing.T) {
	f := newFake(t)
	cache := &memCache{}
	cfg := f.config(newClock().Now)
	cfg.KeyCache = cache
	src := newSource(t, cfg)
	ctx := context.Background()
	for range 3 {
		if err := src.Verify(ctx, signedBy(testKid)); err != nil {
			t.Fatalf("Verify = %v", err)
		}
	}
	wantFetches(t, f, testKid, 1)
	if tokens, _ := f.counts(); tokens != 1 {
		t.Errorf("token requests = %d, want 1", tokens)
	}
	if cache.puts != 1 || string(cache.keys[testKid]) != string(testPub) {
		t.Errorf("KeyCache puts = %d, key = %x", cache.puts, cache.keys[testKid])
	}
	again := newSource(t, cfg)
	if err := again.Verify(ctx, signedBy(testKid)); err != nil {
		t.Fatalf("Verify after restart = %v", err)
	}
	wantFetches(t, f, testKid, 1)
}

// TestKeyCacheBadEntryIgnored: a cached key of the wrong size is a miss.
func TestKeyCacheBadEntryIgnored(t *testing.T) {
	f := newFake(t)
	cfg := f.config(newClock().Now)
	cfg.KeyCache = &memCache{keys: map[string][]byte{testKid: []byte("short")}}
	if err := newSource(t, cfg).Verify(context.Background(), signedBy(testKid)); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	wantFetches(t, f, testKid, 1)
}

// TestUnknownKidOnceAMinute: a kid Reapit does not know is a bad signature,
// and is asked for again only after a minute.
func TestUnknownKidOnceAMinute(t *testing.T) {
	for _, kid := range []string{"k9", "absent"} {
		t.Run(kid, func(t *testing.T) {
			f := newFake(t)
			clk := newClock()
			src := newSource(t, f.config(clk.Now))
			ctx := context.Background()
			for range 3 { // at 0s, 20s, 40s: within the minute
				err := src.Verify(ctx, signedBy(kid))
				checkReason(t, err, fmt.Sprintf("unknown key id %q (not found by the API)", kid))
				clk.Advance(20 * time.Second)
			}
			wantFetches(t, f, kid, 1)
			clk.Advance(time.Minute)
			checkReason(t, src.Verify(ctx, signedBy(kid)), "not found by the API")
			wantFetches(t, f, kid, 2)
		})
	}
}

// TestKeyFetchFailure: a failed fetch is ErrUnavailable (503, Reapit
// retries), is not retried within the minute, and succeeds after it.
func TestKeyFetchFailure(t *testing.T) {
	for _, status := range []int{500, 503, 429, 403, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			f := newFake(t)
			f.set(func() { f.keyStatus = status })
			clk := newClock()
			src := newSource(t, f.config(clk.Now))
			ctx := context.Background()
			for range 2 {
				err := src.Verify(ctx, signedBy(testKid))
				if !errors.Is(err, providers.ErrUnavailable) || errors.Is(err, providers.ErrBadSignature) {
					t.Fatalf("Verify = %v, want ErrUnavailable only", err)
				}
				checkNoSecrets(t, err)
			}
			wantFetches(t, f, testKid, 1)
			f.mu.Lock()
			f.keyStatus = 0
			f.mu.Unlock()
			clk.Advance(time.Minute)
			if err := src.Verify(ctx, signedBy(testKid)); err != nil {
				t.Fatalf("Verify after the minute = %v", err)
			}
			wantFetches(t, f, testKid, 2)
		})
	}
}

// TestKeyFetchTokenRefused: credentials the token endpoint refuses are our
// fault: 503, never 401.
func TestKeyFetchTokenRefused(t *testing.T) {
	f := newFake(t)
	cfg := f.config(newClock().Now)
	cfg.ClientSecret = "wrong"
	err := newSource(t, cfg).Verify(context.Background(), signedBy(testKid))
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "401 Unauthorized (invalid_client)") {
		t.Fatalf("Verify = %v, want ErrUnavailable naming the token refusal", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q shows the secret", err)
	}
}

// TestKeyFetchUnreachable: no answer at all is ErrUnavailable too.
func TestKeyFetchUnreachable(t *testing.T) {
	f := newFake(t)
	cfg := f.config(newClock().Now)
	f.srv.Close()
	err := newSource(t, cfg).Verify(context.Background(), signedBy(testKid))
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Fatalf("Verify = %v, want ErrUnavailable", err)
	}
	checkNoSecrets(t, err)
}

// TestKeyFetchShared: concurrent requests for one unknown kid share one
// fetch (and one token).
func TestKeyFetchShared(t *testing.T) {
	f := newFake(t)
	gate := make(chan struct{})
	f.set(func() { f.keyGate = gate })
	src := newSource(t, f.config(newClock().Now))
	const n = 20
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { errs <- src.Verify(context.Background(), signedBy(testKid)) })
	}
	waitFor(t, func() bool { _, c := f.counts(); return c[testKid] == 1 })
	time.Sleep(20 * time.Millisecond) // let the others queue behind the fetch
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Verify = %v", err)
		}
	}
	wantFetches(t, f, testKid, 1)
	if tokens, _ := f.counts(); tokens != 1 {
		t.Errorf("token requests = %d, want 1", tokens)
	}
}

// TestKeyFetchWaitHonoursContext: a request that gives up while the key is
// fetched gets ErrUnavailable, and the fetch still completes for the next.
func TestKeyFetchWaitHonoursContext(t *testing.T) {
	f := newFake(t)
	gate := make(chan struct{})
	f.set(func() { f.keyGate = gate })
	src := newSource(t, f.config(newClock().Now))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := src.Verify(ctx, signedBy(testKid))
	if !errors.Is(err, providers.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	close(gate)
	waitFor(t, func() bool {
		return src.Verify(context.Background(), signedBy(testKid)) == nil
	})
	wantFetches(t, f, testKid, 1)
}

// TestKeyFetchBudget: made-up kids are fetched at most 10 a minute in all.
func TestKeyFetchBudget(t *testing.T) {
	f := newFake(t)
	clk := newClock()
	src := newSource(t, f.config(clk.Now))
	ctx := context.Background()
	for i := range 10 {
		checkReason(t, src.Verify(ctx, signedBy(fmt.Sprintf("made-up-%d", i))), "not found by the API")
	}
	err := src.Verify(ctx, signedBy("made-up-10"))
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "10 unknown key ids already fetched") {
		t.Fatalf("11th made-up kid: %v", err)
	}
	wantFetches(t, f, "made-up-10", 0)
	clk.Advance(time.Minute)
	if err := src.Verify(ctx, signedBy(testKid)); err != nil {
		t.Fatalf("a real kid after the minute: %v", err)
	}
}

// TestKeyFetchSkewFirst: a stale request never causes a fetch.
func TestKeyFetchSkewFirst(t *testing.T) {
	f := newFake(t)
	src := newSource(t, f.config(newClock().Now))
	body := []byte(`{}`)
	r := requestSigned(body, reapit.SignEd25519(testPriv, "k9", testNow.Add(-time.Hour), body))
	checkReason(t, src.Verify(context.Background(), r), "outside window")
	wantFetches(t, f, "k9", 0)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
