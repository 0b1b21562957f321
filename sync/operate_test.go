package sync_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sinks"
	lsync "github.com/leadsync/leadsync/sync"
)

func TestReloadSwapsSinksAndKeepsRemovedQueues(t *testing.T) {
	a1, b := newRecorder(), newRecorder()
	h := start(t, []lsync.SinkSpec{{Name: "a", Sink: a1, Delivery: fast}}, nil)
	hook := h.url + "/webhooks/hemnet"
	body := hemnet.Sample("r-1")
	post(t, hook, body, signed(body))
	a1.wait(t, 1)

	a2 := newRecorder()
	src, _ := hemnet.New(hemnet.Config{Name: "hemnet", Keys: [][]byte{hemnetKey}})
	err := h.eng.Reload(&lsync.Built{
		Sources: []lsync.SourceSpec{{Source: src}},
		Sinks:   []lsync.SinkSpec{{Name: "a", Sink: a2, Delivery: fast}, {Name: "b", Sink: b, Delivery: fast}},
	}, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	body = hemnet.Sample("r-2")
	post(t, hook, body, signed(body))
	a2.wait(t, 1)
	b.wait(t, 1)
	deadline := time.Now().Add(5 * time.Second)
	for !a1.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the replaced instance of sink a was never closed")
		}
		time.Sleep(5 * time.Millisecond)
	}

	// Remove b while it is down: its queue stays, and status says so.
	b.answer = func(sinks.Delivery, int) error { return context.DeadlineExceeded }
	err = h.eng.Reload(&lsync.Built{Sources: []lsync.SourceSpec{{Source: src}},
		Sinks: []lsync.SinkSpec{{Name: "a", Sink: newRecorder(), Delivery: fast}}}, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	for !b.closed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("removed sink b was never closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, err := h.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Sinks {
		if s.Name == "b" && s.Configured {
			t.Fatalf("status says removed sink b is configured: %+v", s)
		}
	}
	// A bad reload (duplicate sink names) changes nothing.
	if err := h.eng.Reload(&lsync.Built{Sources: []lsync.SourceSpec{{Source: src}},
		Sinks: []lsync.SinkSpec{{Name: "x", Sink: newRecorder()}, {Name: "x", Sink: newRecorder()}}}, 0); err == nil {
		t.Fatal("reload with a duplicate sink was accepted")
	}
}

// A configured source's series that every accepted webhook touches show
// from the start, at zero; a reload that is refused adds none for a source
// it would have brought.
func TestSourceSeriesFromTheStart(t *testing.T) {
	h := start(t, nil, nil)
	metrics := func() string {
		resp, err := http.Get(h.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	text := metrics()
	for _, want := range []string{
		`leadsync_webhooks_total{code="200",source="hemnet"} 0`,
		`leadsync_events_total{source="hemnet",status="accepted"} 0`,
		`leadsync_intake_seconds_count{source="hemnet"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics before any webhook lack %s", want)
		}
	}
	other, _ := hemnet.New(hemnet.Config{Name: "other", Keys: [][]byte{hemnetKey}})
	if err := h.eng.Reload(&lsync.Built{Sources: []lsync.SourceSpec{{Source: other}},
		Sinks: []lsync.SinkSpec{{Name: "x", Sink: newRecorder()}, {Name: "x", Sink: newRecorder()}}}, 0); err == nil {
		t.Fatal("reload with a duplicate sink was accepted")
	}
	if text := metrics(); strings.Contains(text, `source="other"`) {
		t.Error("a refused reload left series for its source")
	}
}

func TestMetricsAfterTrafficCarryNoPersonalData(t *testing.T) {
	rec := newRecorder()
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, nil)
	body := hemnet.Sample("m-1")
	post(t, h.url+"/webhooks/hemnet", body, signed(body))
	post(t, h.url+"/webhooks/hemnet", body, nil) // 401
	rec.wait(t, 1)
	// The sink has the lead; the delivery is counted once its outcome is
	// committed, a moment later.
	var text string
	for deadline := time.Now().Add(5 * time.Second); ; {
		resp, err := http.Get(h.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		text = string(b)
		if strings.Contains(text, `leadsync_receive_to_deliver_seconds_bucket`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, want := range []string{
		`leadsync_webhooks_total{code="200",source="hemnet"} 1`,
		`leadsync_webhooks_total{code="401",source="hemnet"} 1`,
		`leadsync_events_total{source="hemnet",status="accepted"} 1`,
		`leadsync_deliveries_total{outcome="delivered",sink="rec"} 1`,
		`leadsync_outbox_pending{sink="rec"}`,
		`leadsync_commit_batch_ops_count`,
		`leadsync_intake_seconds_bucket`,
		`leadsync_receive_to_deliver_seconds_bucket`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, pii := range []string{"john.doe@example.com", "070111222333", "m-1", "ld_", "ev_"} {
		if strings.Contains(text, pii) {
			t.Errorf("metrics contain %q", pii)
		}
	}
	// SPEC: names prefixed leadsync_ — every one, the runtime's too.
	for _, want := range []string{"leadsync_go_goroutines ", "leadsync_process_resident_memory_bytes "} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		name := strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE ")
		if line != "" && !strings.HasPrefix(name, "leadsync_") {
			t.Errorf("a metric not named leadsync_: %q", line)
		}
	}
}

func TestAdminSocketStatusAndDeadLetters(t *testing.T) {
	rec := newRecorder()
	rec.answer = func(sinks.Delivery, int) error { return sinks.Permanent(&sinks.HTTPError{Status: 422, Body: "no"}) }
	h := start(t, []lsync.SinkSpec{{Name: "rec", Sink: rec, Delivery: fast}}, nil)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go lsync.ServeAdmin(ctx, sock, &lsync.Local{Store: h.store, Engine: h.eng})
	var c *lsync.Client
	for deadline := time.Now().Add(5 * time.Second); ; {
		var ok bool
		if c, ok = lsync.Dial(sock); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("admin socket never answered")
		}
		time.Sleep(5 * time.Millisecond)
	}
	body := hemnet.Sample("adm-1")
	post(t, h.url+"/webhooks/hemnet", body, signed(body))
	var dl int
	for deadline := time.Now().Add(5 * time.Second); dl == 0; {
		l, err := c.DeadLetters(ctx, "rec")
		if err != nil {
			t.Fatal(err)
		}
		dl = len(l)
		if time.Now().After(deadline) {
			t.Fatal("no dead letter")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s, err := c.Status(ctx)
	if err != nil || !s.Running || len(s.Sources) != 1 || s.Sources[0].Accepted != 1 || s.Sinks[0].Dead != 1 ||
		s.Sinks[0].LastError == "" {
		t.Fatalf("status = %+v, %v", s, err)
	}
	rec.answer = nil
	n, err := c.RetryDead(ctx, "", nil)
	if err != nil || n != 1 {
		t.Fatalf("retry = %d, %v", n, err)
	}
	rec.wait(t, 1)
}

// A daemon that stops while it works on a call (killed mid-erase) gives
// ErrNoAnswer, which the CLI turns into "may be done only in part"; one that
// answers with an error does not.
func TestClientTellsANoAnswerFromAnError(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/erase":
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Close() // killed mid-erase
			return
		case "/v1/status":
			c, _, _ := w.(http.Hijacker).Hijack()
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"running\":tr"))
			c.Close() // killed mid-answer
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"no source named \"x\""}`))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	c, ok := lsync.Dial(sock)
	if !ok {
		t.Fatal("dial")
	}
	if _, err := c.Erase(context.Background(), "a@b.c", ""); !errors.Is(err, lsync.ErrNoAnswer) {
		t.Fatalf("erase cut off: %v, want ErrNoAnswer", err)
	}
	if _, err := c.Status(context.Background()); !errors.Is(err, lsync.ErrNoAnswer) {
		t.Fatalf("status cut off mid-answer: %v, want ErrNoAnswer", err)
	}
	if _, err := c.Replay(context.Background(), nil, time.Now(), "x"); err == nil || errors.Is(err, lsync.ErrNoAnswer) {
		t.Fatalf("an error answer: %v, want it, not ErrNoAnswer", err)
	}
}

// TestAdminSocketMakesItsDirectory: an admin_socket whose directory does not
// exist yet is served (the directory is made, as the state dir is), rather
// than the daemon running with no socket for status and dlq to reach.
func TestAdminSocketMakesItsDirectory(t *testing.T) {
	h := start(t, nil, nil)
	sock := filepath.Join(t.TempDir(), "run", "leadsync", "admin.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- lsync.ServeAdmin(ctx, sock, &lsync.Local{Store: h.store, Engine: h.eng}) }()
	for deadline := time.Now().Add(5 * time.Second); ; {
		if c, ok := lsync.Dial(sock); ok {
			if _, err := c.Status(ctx); err != nil {
				t.Fatal(err)
			}
			break
		}
		select {
		case err := <-served:
			t.Fatalf("ServeAdmin: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("admin socket never answered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
