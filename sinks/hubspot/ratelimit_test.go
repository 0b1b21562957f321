package hubspot

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leadsync/leadsync/sinks"
)

// The window lets n requests start per span and then exactly one more per
// slot that leaves it.
func TestWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWindow(3, 10*time.Second)
		start := time.Now()
		var at []time.Duration
		for range 7 {
			release, err := w.wait(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			at = append(at, time.Since(start))
			time.Sleep(time.Second) // the request takes a second
			release()
		}
		// Each start is a window after the end of the request 3 before.
		want := []time.Duration{0, 1, 2, 11, 12, 13, 22}
		for i := range want {
			if at[i] != want[i]*time.Second {
				t.Fatalf("starts at %v, want %v seconds", at, want)
			}
		}
	})
}

// With n requests in flight, the next waits for the oldest to end, and
// then a window.
func TestWindowInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWindow(1, 10*time.Second)
		start := time.Now()
		release, _ := w.wait(t.Context())
		time.AfterFunc(5*time.Second, release)
		release2, err := w.wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer release2()
		if got := time.Since(start); got != 15*time.Second {
			t.Errorf("second start after %v, want 15s", got)
		}
	})
}

func TestWindowDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWindow(1, 10*time.Second)
		release, err := w.wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		release()
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		_, err = w.wait(ctx)
		if after, ok := sinks.RetryDelay(err); !ok || after != 10*time.Second {
			t.Fatalf("wait beyond the deadline = %v, want RetryAfter 10s", err)
		}
		// Nothing was taken: the next slot is free at 10s.
		time.Sleep(10 * time.Second)
		start := time.Now()
		if release, err := w.wait(t.Context()); err != nil || time.Since(start) != 0 {
			t.Errorf("wait after the window = %v after %v", err, time.Since(start))
		} else {
			release()
		}
	})
}

func TestWindowCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWindow(1, 10*time.Second)
		release, _ := w.wait(t.Context())
		release()
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		if _, err := w.wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("wait canceled = %v", err)
		}
		// The canceled wait's slot was released: the next one waits a
		// window from the cancel, not forever.
		start := time.Now()
		release, err := w.wait(t.Context())
		if err != nil || time.Since(start) != 10*time.Second {
			t.Errorf("wait after a canceled one = %v after %v, want 10s", err, time.Since(start))
		} else {
			release()
		}
	})
}

func TestRateLimitWait(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		name   string
		header http.Header
		body   string
		want   time.Duration
	}{
		{"nothing said", h(), "", DefaultRateWindow},
		{"interval", h("X-HubSpot-RateLimit-Interval-Milliseconds", "10000", "X-HubSpot-RateLimit-Remaining", "0"), "", 10 * time.Second},
		{"other interval", h("X-HubSpot-RateLimit-Interval-Milliseconds", "2500"), "", 2500 * time.Millisecond},
		{"secondly only", h("X-HubSpot-RateLimit-Interval-Milliseconds", "10000", "X-HubSpot-RateLimit-Remaining", "50",
			"X-HubSpot-RateLimit-Secondly-Remaining", "0"), "", time.Second},
		{"daily", h("X-HubSpot-RateLimit-Interval-Milliseconds", "10000"), `{"errorType":"RATE_LIMIT","policyName":"DAILY"}`, dailyWait},
		{"rolling policy", h(), `{"errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}`, DefaultRateWindow},
		{"garbage", h("X-HubSpot-RateLimit-Interval-Milliseconds", "soon"), "<html>", DefaultRateWindow},
	}
	for _, c := range cases {
		if got := rateLimitWait(c.header, []byte(c.body)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
