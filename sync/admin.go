package sync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/leadsync/leadsync/state"
)

// Admin is what the operator commands (status, dlq, replay, reconcile,
// erase) do. Local runs them in this process — inside the daemon behind the
// admin socket, or in the CLI against the store of a stopped daemon — and
// Client runs them over the admin socket of a running daemon. The CLI holds
// an Admin and does not care which.
type Admin interface {
	Status(ctx context.Context) (*Status, error)
	DeadLetters(ctx context.Context, sink string) ([]state.DeadLetter, error)
	RetryDead(ctx context.Context, sink string, ids []string) (int, error)
	Reconcile(ctx context.Context, source string, since time.Time) ([]RunResult, error)
	DeadLetter(ctx context.Context, id string) (*state.DeadLetter, error)
	DropDead(ctx context.Context, sink string, ids []string) (int, error)
	Erase(ctx context.Context, email, phone string) (map[string]int, error)
	Replay(ctx context.Context, eventIDs []string, since time.Time, source string) ([]ReplayResult, error)
	Tail(ctx context.Context, fn func(TailEvent) error) error
}

// Local is the Admin of this process. Engine is nil for a stopped daemon.
type Local struct {
	Store  *state.Store
	Engine *Engine
}

var _ Admin = (*Local)(nil)

// Status implements Admin.
func (l *Local) Status(context.Context) (*Status, error) {
	if l.Engine != nil {
		return l.Engine.Status()
	}
	return StoreStatus(l.Store, time.Now())
}

// DeadLetters implements Admin.
func (l *Local) DeadLetters(_ context.Context, sink string) ([]state.DeadLetter, error) {
	return l.Store.DeadLetters(sink)
}

// RetryDead implements Admin: the letters go back to their outboxes, due now.
func (l *Local) RetryDead(_ context.Context, sink string, ids []string) (int, error) {
	n, err := l.Store.RetryDead(sink, ids)
	if err == nil && l.Engine != nil {
		l.Engine.pokeAll()
	}
	return n, err
}

// Reconcile implements Admin. A stopped daemon's Local has an Engine that
// was built but never run: what it finds is committed and goes out when the
// daemon starts.
func (l *Local) Reconcile(_ context.Context, source string, since time.Time) ([]RunResult, error) {
	if l.Engine == nil {
		return nil, errors.New("reconcile needs the sources: build an engine for the store")
	}
	return l.Engine.Reconcile(source, since)
}

// DeadLetter implements Admin.
func (l *Local) DeadLetter(_ context.Context, id string) (*state.DeadLetter, error) {
	d, err := l.Store.DeadLetter(id)
	if errors.Is(err, state.ErrNotFound) {
		return nil, fmt.Errorf("no dead letter %q: %w", id, errNotFound)
	}
	return &d, err
}

// DropDead implements Admin. ids must not be empty: dropping every letter
// of a sink is DropDead(sink, nil) in the store, which the CLI asks for
// explicitly (--all).
func (l *Local) DropDead(_ context.Context, sink string, ids []string) (int, error) {
	return l.Store.DropDead(sink, ids)
}

// Erase implements Admin.
func (l *Local) Erase(_ context.Context, email, phone string) (map[string]int, error) {
	if l.Engine != nil {
		return l.Engine.Erase(email, phone)
	}
	return l.Store.Erase(email, phone)
}

// Replay implements Admin.
func (l *Local) Replay(_ context.Context, ids []string, since time.Time, source string) ([]ReplayResult, error) {
	if l.Engine == nil {
		return nil, errors.New("replay needs the sources: build an engine for the store")
	}
	return l.Engine.Replay(ids, since, source)
}

// Tail implements Admin; it needs the running daemon.
func (l *Local) Tail(ctx context.Context, fn func(TailEvent) error) error {
	if l.Engine == nil {
		return errors.New("tail shows leads as the daemon handles them: start the daemon")
	}
	return l.Engine.Tail(ctx, fn)
}

var errNotFound = errors.New("not found")

func (e *Engine) pokeAll() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.disp {
		d.poke()
	}
}

// AdminHandler serves Admin over HTTP, for the admin socket.
func AdminHandler(a Admin) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		reply(w)(a.Status(r.Context()))
	})
	mux.HandleFunc("GET /v1/dlq", func(w http.ResponseWriter, r *http.Request) {
		reply(w)(a.DeadLetters(r.Context(), r.URL.Query().Get("sink")))
	})
	mux.HandleFunc("POST /v1/dlq/retry", func(w http.ResponseWriter, r *http.Request) {
		var req idsRequest
		if !decode(w, r, &req) {
			return
		}
		n, err := a.RetryDead(r.Context(), req.Sink, req.IDs)
		reply(w)(countReply{N: n}, err)
	})
	mux.HandleFunc("GET /v1/dlq/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w)(a.DeadLetter(r.Context(), r.PathValue("id")))
	})
	mux.HandleFunc("POST /v1/dlq/drop", func(w http.ResponseWriter, r *http.Request) {
		var req idsRequest
		if !decode(w, r, &req) {
			return
		}
		n, err := a.DropDead(r.Context(), req.Sink, req.IDs)
		reply(w)(countReply{N: n}, err)
	})
	mux.HandleFunc("POST /v1/erase", func(w http.ResponseWriter, r *http.Request) {
		var req eraseRequest
		if !decode(w, r, &req) {
			return
		}
		reply(w)(a.Erase(r.Context(), req.Email, req.Phone))
	})
	mux.HandleFunc("POST /v1/replay", func(w http.ResponseWriter, r *http.Request) {
		var req replayRequest
		if !decode(w, r, &req) {
			return
		}
		reply(w)(a.Replay(r.Context(), req.IDs, req.Since, req.Source))
	})
	mux.HandleFunc("GET /v1/tail", func(w http.ResponseWriter, r *http.Request) {
		fl, _ := w.(http.Flusher)
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		if fl != nil {
			fl.Flush()
		}
		enc := json.NewEncoder(w)
		a.Tail(r.Context(), func(ev TailEvent) error {
			if err := enc.Encode(ev); err != nil {
				return err
			}
			if fl != nil {
				fl.Flush()
			}
			return nil
		})
	})
	mux.HandleFunc("POST /v1/reconcile", func(w http.ResponseWriter, r *http.Request) {
		var req reconcileRequest
		if !decode(w, r, &req) {
			return
		}
		reply(w)(a.Reconcile(r.Context(), req.Source, req.Since))
	})
	return mux
}

type reconcileRequest struct {
	Source string    `json:"source,omitempty"`
	Since  time.Time `json:"since,omitzero"`
}

type eraseRequest struct {
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

type replayRequest struct {
	IDs    []string  `json:"ids,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Source string    `json:"source,omitempty"`
}

type idsRequest struct {
	Sink string   `json:"sink,omitempty"`
	IDs  []string `json:"ids,omitempty"`
}

type countReply struct {
	N int `json:"n"`
}

type errorReply struct {
	Error string `json:"error"`
}

func reply(w http.ResponseWriter) func(v any, err error) {
	return func(v any, err error) {
		if err != nil {
			code := http.StatusInternalServerError
			switch {
			case errors.Is(err, errBadRequest):
				code = http.StatusBadRequest
			case errors.Is(err, errNotFound):
				code = http.StatusNotFound
			}
			writeJSON(w, code, errorReply{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

var errBadRequest = errors.New("bad request")

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, errorReply{Error: "decode request: " + err.Error()})
		return false
	}
	return true
}

// ServeAdmin serves a on a Unix socket at path (mode 0660) until ctx is
// done. A stale socket file left by a crash is replaced; a live one (another
// daemon answering) is an error.
func ServeAdmin(ctx context.Context, path string, a Admin) error {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("admin socket %s: another daemon is listening on it", path)
	}
	os.Remove(path)
	// Its directory, as the state dir's, is made if missing (0750: the
	// socket's group reaches it): without it the daemon would run with no
	// way for status, dlq, replay or erase to reach it.
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	srv := &http.Server{Handler: AdminHandler(a), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
		os.Remove(path)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin socket: %w", err)
	}
	return nil
}

// Client is the Admin of a running daemon, reached over its admin socket.
type Client struct {
	hc     *http.Client
	stream *http.Client // no overall timeout: tail runs until stopped
}

var _ Admin = (*Client)(nil)

// Dial returns a Client for the socket at path if a daemon answers there,
// and ok false otherwise (no daemon running: use Local on the store).
func Dial(path string) (*Client, bool) {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, false
	}
	c.Close()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr, Timeout: 5 * time.Minute}, stream: &http.Client{Transport: tr}}, true
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://leadsync"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin socket: %w (%w)", ErrNoAnswer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e errorReply
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("daemon: %s", e.Error)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("admin socket: %w (%w)", ErrNoAnswer, err)
	}
	return nil
}

// ErrNoAnswer is what a Client call returns when the daemon did not answer
// it to the end (it stopped, or was killed, while working on it): what the
// call asked for may have been done in part.
var ErrNoAnswer = errors.New("the daemon did not answer to the end")

// Status implements Admin.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var s Status
	return &s, c.call(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// DeadLetters implements Admin.
func (c *Client) DeadLetters(ctx context.Context, sink string) ([]state.DeadLetter, error) {
	var out []state.DeadLetter
	q := ""
	if sink != "" {
		q = "?" + url.Values{"sink": {sink}}.Encode()
	}
	return out, c.call(ctx, http.MethodGet, "/v1/dlq"+q, nil, &out)
}

// Reconcile implements Admin.
func (c *Client) Reconcile(ctx context.Context, source string, since time.Time) ([]RunResult, error) {
	var out []RunResult
	return out, c.call(ctx, http.MethodPost, "/v1/reconcile", reconcileRequest{Source: source, Since: since}, &out)
}

// DeadLetter implements Admin.
func (c *Client) DeadLetter(ctx context.Context, id string) (*state.DeadLetter, error) {
	var d state.DeadLetter
	return &d, c.call(ctx, http.MethodGet, "/v1/dlq/"+url.PathEscape(id), nil, &d)
}

// DropDead implements Admin.
func (c *Client) DropDead(ctx context.Context, sink string, ids []string) (int, error) {
	var r countReply
	err := c.call(ctx, http.MethodPost, "/v1/dlq/drop", idsRequest{Sink: sink, IDs: ids}, &r)
	return r.N, err
}

// Erase implements Admin.
func (c *Client) Erase(ctx context.Context, email, phone string) (map[string]int, error) {
	var out map[string]int
	return out, c.call(ctx, http.MethodPost, "/v1/erase", eraseRequest{Email: email, Phone: phone}, &out)
}

// Replay implements Admin.
func (c *Client) Replay(ctx context.Context, ids []string, since time.Time, source string) ([]ReplayResult, error) {
	var out []ReplayResult
	return out, c.call(ctx, http.MethodPost, "/v1/replay", replayRequest{IDs: ids, Since: since, Source: source}, &out)
}

// Tail implements Admin: it streams the daemon's tail events until ctx is
// done or the daemon stops.
func (c *Client) Tail(ctx context.Context, fn func(TailEvent) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://leadsync/v1/tail", nil)
	if err != nil {
		return err
	}
	resp, err := c.stream.Do(req)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(resp.Body)
	for {
		var ev TailEvent
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("tail: %w", err)
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
}

// RetryDead implements Admin.
func (c *Client) RetryDead(ctx context.Context, sink string, ids []string) (int, error) {
	var r countReply
	err := c.call(ctx, http.MethodPost, "/v1/dlq/retry", idsRequest{Sink: sink, IDs: ids}, &r)
	return r.N, err
}
