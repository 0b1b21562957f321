package sync_test

// Fault tests of issue 7: clock skew and hostile input, against the engine's
// real http.Server on loopback.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	stdsync "sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/leadsync/leadsync/providers/hemnet"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

// logLines is a slog JSON sink the test can search.
type logLines struct {
	mu  stdsync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// find returns the records whose msg is msg.
func (l *logLines) find(msg string) []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func captureLog(o *lsync.Options) *logLines {
	l := &logLines{}
	o.Logger = slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return l
}

// sentAt returns Hemnet's headers for body with X-Timestamp at.
func sentAt(body []byte, at time.Time) map[string]string {
	h := signed(body)
	h["X-Timestamp"] = fmt.Sprint(at.UnixMilli())
	return h
}

// TestClockSkewRejectedWithReason: a Hemnet webhook whose X-Timestamp is an
// hour away from the daemon's clock gets 401, is not stored, and the log
// says why (the offset, its direction and the window), with the request id.
// Both ways round: the sender's clock off, and the daemon's.
func TestClockSkewRejectedWithReason(t *testing.T) {
	// want matches the offset and its direction; the window is always said.
	check := func(t *testing.T, h *harness, logs *logLines, send time.Time, want string) {
		t.Helper()
		body := hemnet.Sample("skewed")
		hdr := sentAt(body, send)
		hdr["X-Request-Id"] = fmt.Sprint("req-skew-", send.UnixNano())
		if code, m := post(t, h.url+"/webhooks/hemnet", body, hdr); code != 401 {
			t.Fatalf("answer %d %v, want 401", code, m)
		}
		var reason string
		for _, r := range logs.find("webhook rejected") {
			if r["request_id"] == hdr["X-Request-Id"] {
				if r["answer"] != float64(401) || r["source"] != "hemnet" {
					t.Errorf("log record %v", r)
				}
				reason = fmt.Sprint(r["reason"])
			}
		}
		if reason == "" {
			t.Fatalf("no \"webhook rejected\" line for %s in the log:\n%s", hdr["X-Request-Id"], logs.buf.String())
		}
		if !regexp.MustCompile(`\(` + want + `\) outside window of ±10m0s around `).MatchString(reason) {
			t.Errorf("reason %q does not match %q and the window", reason, want)
		}
		t.Logf("log reason: %s", reason)
	}

	// X-Timestamp is whole milliseconds, so "an hour ago" arrives an hour
	// and a little in the past, and "in an hour" a little under an hour (or,
	// rounded, exactly an hour) in the future.
	const past, future = `1h0m0(\.\d+)?s in the past`, `(59m59\.\d+s|1h0m0s) in the future`
	t.Run("sender", func(t *testing.T) {
		var logs *logLines
		h := start(t, nil, func(o *lsync.Options) { logs = captureLog(o) })
		check(t, h, logs, time.Now().Add(-time.Hour), past)
		check(t, h, logs, time.Now().Add(time.Hour), future)
		body := hemnet.Sample("in-window")
		if code, m := post(t, h.url+"/webhooks/hemnet", body, sentAt(body, time.Now().Add(-9*time.Minute))); code != 200 {
			t.Fatalf("9 minutes off, inside the window: %d %v", code, m)
		}
		assertNotStored(t, h, "skewed")
	})
	for _, c := range []struct {
		name string
		off  time.Duration
		want string
	}{{"daemon ahead", time.Hour, past}, {"daemon behind", -time.Hour, future}} {
		t.Run(c.name, func(t *testing.T) {
			var logs *logLines
			clock := func() time.Time { return time.Now().Add(c.off) }
			h := start(t, nil, func(o *lsync.Options) {
				logs = captureLog(o)
				o.Now = clock
				src, err := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{hemnetKey},
					MaxClockSkew: 10 * time.Minute, Now: clock})
				if err != nil {
					t.Fatal(err)
				}
				o.Sources[0].Source = src
			})
			check(t, h, logs, time.Now(), c.want)
			assertNotStored(t, h, "skewed")
		})
	}
}

func assertNotStored(t *testing.T, h *harness, what string) {
	t.Helper()
	st, err := h.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sources {
		if s.Rejected == 0 {
			t.Errorf("source %s: rejected = 0, want the %s request counted", s.Name, what)
		}
		if s.Quarantined != 0 || s.Duplicates != 0 || s.Ignored != 0 {
			t.Errorf("source %s: %+v; a rejected request must store nothing", s.Name, s)
		}
	}
}

// TestHostileBodies: each body gets its documented answer, nothing crashes,
// and what was signed is kept (quarantined) rather than dropped.
func TestHostileBodies(t *testing.T) {
	const maxBody = 256 << 10
	rec := newRecorder()
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, func(o *lsync.Options) {
		o.MaxBody = maxBody
	})
	hook := h.url + "/webhooks/hemnet"
	padded := func(id string, size int) []byte { // a valid contact, spaces up to size
		b := hemnet.Sample(id)
		return append(b, bytes.Repeat([]byte(" "), size-len(b))...)
	}
	nested := func(prefix, open, close, suffix string, depth int) []byte { // innermost value: 1
		return []byte(prefix + strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth) + suffix)
	}
	invalidName := bytes.Replace(hemnet.Sample("bad-utf8"), []byte(`"John"`), []byte("\"Jo\xff\xfehn\""), 1)
	cases := []struct {
		name    string
		body    []byte
		unsign  bool // no signature
		chunked bool // no Content-Length
		code    int
		status  string
	}{
		{name: "empty, unsigned", body: []byte{}, unsign: true, code: 401},
		{name: "empty, signed", body: []byte{}, code: 200, status: "quarantined"},
		{name: "exactly max_body", body: padded("exact", maxBody), code: 200, status: "accepted"},
		{name: "exactly max_body, chunked", body: padded("exact-chunked", maxBody), chunked: true, code: 200, status: "accepted"},
		{name: "max_body+1", body: padded("over", maxBody+1), code: 413},
		{name: "max_body+1, chunked", body: padded("over-chunked", maxBody+1), chunked: true, code: 413},
		{name: "max_body+1, unsigned", body: padded("over", maxBody+1), unsign: true, code: 413},
		{name: "100k [", body: []byte(strings.Repeat("[", 100_000)), code: 200, status: "quarantined"},
		{name: "100k [ and ]", body: nested("", "[", "]", "", 100_000), code: 200, status: "quarantined"},
		{name: "40k nested objects", body: nested("", `{"a":`, "}", "", 40_000), code: 200, status: "quarantined"},
		{name: "deep data in a contact", body: nested(`{"type":"CONTACT","action":"CREATE","data":{"id":"deep","message":`,
			"[", "]", "}}", 100_000), code: 200, status: "quarantined"},
		{name: "deep data, unsigned", body: []byte(strings.Repeat("[", 100_000)), unsign: true, code: 401},
		{name: "invalid UTF-8", body: []byte("\xff\xfe\xfd\x00{}"), code: 200, status: "quarantined"},
		{name: "invalid UTF-8, unsigned", body: []byte("\xff\xfe\xfd"), unsign: true, code: 401},
		{name: "invalid UTF-8 in a name", body: invalidName, code: 200, status: "accepted"},
	}
	quarantined := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, hook, bytes.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			if !c.unsign {
				for k, v := range signed(c.body) {
					req.Header.Set(k, v)
				}
			}
			if c.chunked {
				req.Body = io.NopCloser(bytes.NewReader(c.body))
				req.ContentLength = -1
			}
			code, m := do(t, req)
			if code != c.code || (c.status != "" && m["status"] != c.status) {
				t.Fatalf("answer %d %v, want %d %q", code, m, c.code, c.status)
			}
			if c.status == "quarantined" {
				quarantined++
			}
		})
	}
	if code, _ := do(t, mustRequest(t, "GET", h.url+"/healthz")); code != 200 {
		t.Fatalf("healthz after hostile bodies: %d", code)
	}

	// The accepted ones were delivered as valid leads; the name with
	// invalid UTF-8 arrives as valid UTF-8 (U+FFFD for the bad bytes).
	got := map[string]string{}
	for _, d := range rec.wait(t, 3) {
		leadtest.Validate(t, d.Body)
		if !utf8.Valid(d.Body) {
			t.Errorf("lead %s is not valid UTF-8", d.Lead.Source.EntityID)
		}
		got[d.Lead.Source.EntityID] = fmt.Sprint(*d.Lead.Person.FirstName)
	}
	if got["bad-utf8"] != "Jo\uFFFD\uFFFDhn" || len(got) != 3 {
		t.Fatalf("delivered %q", got)
	}
	st, err := h.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Sources[0]; s.Quarantined != int64(quarantined) || s.Accepted != 3 || s.Rejected != 6 {
		t.Fatalf("status %+v, want %d quarantined, 3 accepted, 6 rejected", s, quarantined)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func dial(t *testing.T, h *harness) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second)) // nothing here may hang the suite
	return c
}

// TestHugeHeader: a 10 MB header is refused by net/http with 431 after
// MaxHeaderBytes (64 KiB), without reading the rest.
func TestHugeHeader(t *testing.T) {
	h := start(t, nil, nil)
	c := dial(t, h)
	go func() {
		w := bufio.NewWriter(c)
		fmt.Fprintf(w, "POST /webhooks/hemnet HTTP/1.1\r\nHost: leadsync\r\nContent-Type: application/json\r\nX-Big: ")
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range (10 << 20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the server hung up: expected
			}
		}
		w.WriteString("\r\nContent-Length: 2\r\n\r\n{}")
		w.Flush()
	}()
	began := time.Now()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("answer %s, want 431", resp.Status)
	}
	t.Logf("431 after %s", time.Since(began).Round(time.Millisecond))
	if code, _ := do(t, mustRequest(t, "GET", h.url+"/healthz")); code != 200 {
		t.Fatalf("healthz afterwards: %d", code)
	}
}

// TestSlowClientsAreCutOff: the server's timeouts hold against slowloris
// (headers a byte at a time), a body that trickles in, and idle keep-alive
// connections, while other clients are served meanwhile.
func TestSlowClientsAreCutOff(t *testing.T) {
	const (
		readHeader = 300 * time.Millisecond
		read       = 800 * time.Millisecond
		idle       = 400 * time.Millisecond
		slack      = 700 * time.Millisecond
	)
	h := start(t, nil, func(o *lsync.Options) {
		o.ReadHeaderTimeout, o.ReadTimeout, o.IdleTimeout = readHeader, read, idle
	})
	body := hemnet.Sample("slow")
	hdr := signed(body)
	head := fmt.Sprintf("POST /webhooks/hemnet HTTP/1.1\r\nHost: leadsync\r\nContent-Type: application/json\r\n"+
		"X-Signature: %s\r\nX-Timestamp: %s\r\nContent-Length: %d\r\n\r\n", hdr["X-Signature"], hdr["X-Timestamp"], len(body))

	// trickle writes s a byte per 100 ms until it is written or the server
	// hangs up; the returned channel closes when it stops.
	trickle := func(c net.Conn, s string) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range len(s) {
				if _, err := c.Write([]byte{s[i]}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		return done
	}
	// cutOff reads until the server closes c and returns what it sent and
	// how long after began it closed.
	cutOff := func(t *testing.T, c net.Conn, began time.Time) (string, time.Duration) {
		t.Helper()
		got, err := io.ReadAll(c)
		took := time.Since(began)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the server kept the connection open for %s (got %q)", took, got)
		}
		return string(got), took
	}

	t.Run("slowloris headers", func(t *testing.T) {
		c := dial(t, h)
		began := time.Now()
		stopped := trickle(c, head+string(body))
		// Others are served while it trickles.
		if code, m := post(t, h.url+"/webhooks/hemnet", hemnet.Sample("fast"), signed(hemnet.Sample("fast"))); code != 200 {
			t.Fatalf("a normal client during slowloris: %d %v", code, m)
		}
		got, took := cutOff(t, c, began)
		if took > readHeader+slack || strings.Contains(got, " 200 ") {
			t.Fatalf("cut off after %s with %q; want the connection closed about ReadHeaderTimeout (%s) in, not accepted",
				took, got, readHeader)
		}
		c.Close()
		<-stopped
		t.Logf("slowloris cut off after %s (ReadHeaderTimeout %s), answer %q", took.Round(time.Millisecond), readHeader, got)
	})

	t.Run("slow body", func(t *testing.T) {
		c := dial(t, h)
		began := time.Now()
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		stopped := trickle(c, string(body))
		got, took := cutOff(t, c, began)
		if took > read+slack || !strings.HasPrefix(got, "HTTP/1.1 408 ") {
			t.Fatalf("cut off after %s with %q; want a 408 about ReadTimeout (%s) in", took, got, read)
		}
		c.Close()
		<-stopped
		first, _, _ := strings.Cut(got, "\r\n")
		t.Logf("trickled body cut off after %s (ReadTimeout %s), answer %q", took.Round(time.Millisecond), read, first)
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t, h)
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: leadsync\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Close {
			t.Fatalf("healthz: %s, close %v", resp.Status, resp.Close)
		}
		began := time.Now()
		rest, err := io.ReadAll(br)
		took := time.Since(began)
		if err != nil || len(rest) != 0 || took > idle+slack {
			t.Fatalf("idle connection closed after %s (%q, %v); IdleTimeout %s", took, rest, err, idle)
		}
		t.Logf("idle connection closed after %s (IdleTimeout %s)", took.Round(time.Millisecond), idle)
	})

	st, err := h.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Sources[0]; s.Accepted != 1 {
		t.Fatalf("status %+v: only the normal client's lead should be stored", s)
	}
}

// TestWebhookPaths: a provider's URL with a doubled or trailing slash is
// served (the mux would answer a redirect, which many senders do not follow),
// any other path under /webhooks/ gets the JSON 404 of an unknown source, and
// an X-Request-Id longer than any real one is not copied onto the log lines
// (an unsigned request could fill the journal with it).
func TestWebhookPaths(t *testing.T) {
	var logs *logLines
	h := start(t, nil, func(o *lsync.Options) { logs = captureLog(o) })
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(path, contact string, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		body := hemnet.Sample(contact)
		req, _ := http.NewRequest(http.MethodPost, h.url+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range signed(body) {
			req.Header.Set(k, v)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, p := range []string{"//webhooks/hemnet", "/webhooks/hemnet/", "/webhooks/./hemnet"} {
		if code, m := send(p, "path-"+p, nil); code != 200 || m["status"] != "accepted" {
			t.Errorf("POST %s: %d %v, want 200 accepted", p, code, m)
		}
	}
	for _, p := range []string{"/webhooks/hemnet/x", "/webhooks/", "/webhooks", "/webhooks/hemnet/../nosuch"} {
		if code, m := send(p, "nowhere", nil); code != 404 || m["status"] != "error" {
			t.Errorf("POST %s: %d %v, want the JSON 404 of an unknown source", p, code, m)
		}
	}
	long := strings.Repeat("r", 200)
	if code, _ := send("/webhooks/hemnet", "long-rid", map[string]string{"X-Request-Id": long, "X-Signature": "00"}); code != 401 {
		t.Fatalf("unsigned, long X-Request-Id: %d, want 401", code)
	}
	rejected := logs.find("webhook rejected")
	if len(rejected) != 1 {
		t.Fatalf("%d \"webhook rejected\" lines, want 1:\n%s", len(rejected), logs.buf.String())
	}
	if rid := fmt.Sprint(rejected[0]["request_id"]); rid == long || !strings.HasPrefix(rid, "req_") {
		t.Fatalf("logged request_id %q, want our own req_… for a 200-byte X-Request-Id", rid)
	}
}
