package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRechat is Rechat's brand webhook API as documented: POST, GET and
// DELETE under /brands/:id/webhooks, a Bearer token, answers wrapped in
// {"code": "OK", "data": …}. It refuses anything else, and its error
// answers echo the Authorization header, as a careless server or proxy
// might, so that tests can see the CLI never shows the token.
type fakeRechat struct {
	t     *testing.T
	token string
	brand string

	mu       sync.Mutex
	hooks    []map[string]any
	requests []string // "METHOD path?query"
}

func newFakeRechat(t *testing.T, token, brand string) (*fakeRechat, *httptest.Server) {
	f := &fakeRechat{t: t, token: token, brand: brand}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /brands/{id}/webhooks", f.create)
	mux.HandleFunc("GET /brands/{id}/webhooks", f.list)
	mux.HandleFunc("DELETE /brands/{id}/webhooks/{wid}", f.delete)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
		f.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
			f.fail(w, r, http.StatusUnauthorized, "invalid access token")
			return
		}
		if !strings.HasPrefix(r.URL.Path, "/brands/"+f.brand+"/") && r.URL.Path != "/brands/"+f.brand {
			f.fail(w, r, http.StatusNotFound, "brand not found")
			return
		}
		if _, pattern := mux.Handler(r); pattern == "" {
			f.fail(w, r, http.StatusNotFound, "no such endpoint")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

// fail answers an error that echoes the request's Authorization header.
func (f *fakeRechat) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{
		"http": code, "message": msg, "code": "Error",
		"debug": map[string]string{"authorization": r.Header.Get("Authorization"), "path": r.URL.Path},
	})
}

func (f *fakeRechat) ok(w http.ResponseWriter, data any, extra map[string]any) {
	body := map[string]any{"code": "OK", "data": data}
	for k, v := range extra {
		body[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

func (f *fakeRechat) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		f.fail(w, r, http.StatusUnsupportedMediaType, "want application/json, got "+ct)
		return
	}
	var body map[string]any
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&body); err != nil {
		f.fail(w, r, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	topic, _ := body["topic"].(string)
	url, _ := body["url"].(string)
	if len(body) != 2 || url == "" || (topic != "Contacts" && topic != "Showings" && topic != "Deals") {
		f.fail(w, r, http.StatusBadRequest, fmt.Sprintf("body must be {topic: Contacts|Showings|Deals, url}, got %v", body))
		return
	}
	b := make([]byte, 32)
	rand.Read(b)
	id := make([]byte, 16)
	rand.Read(id)
	now := float64(time.Now().UnixNano()) / 1e9
	hook := map[string]any{
		"id":         fmt.Sprintf("%x-%x-%x-%x-%x", id[:4], id[4:6], id[6:8], id[8:10], id[10:]),
		"created_at": now, "updated_at": now, "deleted_at": nil,
		"brand": f.brand, "topic": topic, "url": url,
		"key":  hex.EncodeToString(b),
		"tags": nil, "type": "brand_webhook",
	}
	f.mu.Lock()
	f.hooks = append(f.hooks, hook)
	f.mu.Unlock()
	f.ok(w, hook, nil)
}

func (f *fakeRechat) list(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("topic")
	f.mu.Lock()
	data := []map[string]any{}
	for _, h := range f.hooks {
		if topic == "" || h["topic"] == topic {
			data = append(data, h)
		}
	}
	f.mu.Unlock()
	f.ok(w, data, map[string]any{"info": map[string]int{"count": len(data), "total": 0}})
}

func (f *fakeRechat) delete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, h := range f.hooks {
		if h["id"] == r.PathValue("wid") {
			f.hooks = append(f.hooks[:i], f.hooks[i+1:]...)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	f.fail(w, r, http.StatusNotFound, "webhook not found")
}

func (f *fakeRechat) hook(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hooks[i]
}

func (f *fakeRechat) lastRequest() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

const (
	fakeToken = "rct_3fG9kQ2xLm7PzV8wYt4NbR1sHd6JcE0a"
	fakeBrand = "8929cf8b-6bcc-484a-a7a6-242eaf70cb7a"
)

var hex64 = regexp.MustCompile(`(?m)^  ([0-9a-f]{64})$`)

func TestSubscribeRechatCreatesWebhookAndKeyWorks(t *testing.T) {
	f, srv := newFakeRechat(t, fakeToken, fakeBrand)
	dir := t.TempDir()
	env := []string{"RECHAT_TOKEN=" + fakeToken}
	hookURL := "https://leads.agency.example/webhooks/rechat"

	out, code := runCLI(t, dir, env, "subscribe", "rechat", "--brand", fakeBrand, "--topic", "contacts",
		"--url", hookURL, "--api-url", srv.URL)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, fakeToken) {
		t.Fatalf("output contains the token:\n%s", out)
	}
	created := f.hook(0)
	if created["topic"] != "Contacts" || created["url"] != hookURL {
		t.Fatalf("Rechat got %v", created)
	}
	m := hex64.FindStringSubmatch(out)
	if m == nil || m[1] != created["key"] {
		t.Fatalf("output lacks the key %v on its own line:\n%s", created["key"], out)
	}
	for _, want := range []string{
		"Created Rechat brand webhook " + created["id"].(string),
		"/etc/leadsync/credentials/rechat-key",
		"LoadCredential=rechat-key:/etc/leadsync/credentials/rechat-key",
		"key: {credential: rechat-key}",
		"keys: [{credential: rechat-key}]",
		"leadsync check",
		"systemctl daemon-reload && sudo systemctl restart leadsync",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// A second topic, the token from a file, JSON out.
	tokFile := filepath.Join(dir, "token")
	os.WriteFile(tokFile, []byte(fakeToken+"\n"), 0o600)
	out, code = runCLI(t, dir, []string{"RECHAT_TOKEN="}, "subscribe", "rechat", "--brand", fakeBrand,
		"--topic", "Showings", "--url", hookURL, "--api-url", srv.URL, "--token-file", tokFile, "--json")
	if code != 0 || strings.Contains(out, fakeToken) {
		t.Fatalf("--token-file --json: exit %d:\n%s", code, out)
	}
	var w struct{ ID, Topic, Key string }
	if err := json.Unmarshal([]byte(out), &w); err != nil || w.Key != f.hook(1)["key"] || w.Topic != "Showings" {
		t.Fatalf("--json: %v %+v:\n%s", err, w, out)
	}

	// The keys as the instructions say: credentials, check, and the daemon
	// accepts a delivery signed with the key.
	creds := filepath.Join(dir, "credentials")
	os.Mkdir(creds, 0o700)
	os.WriteFile(filepath.Join(creds, "rechat-key"), []byte(m[1]+"\n"), 0o600)
	os.WriteFile(filepath.Join(creds, "rechat-key-showings"), []byte(w.Key+"\n"), 0o600)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	addr := freePort(t)
	cfg := filepath.Join(dir, "leadsync.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`listen: %s
state_dir: %s
sources:
  - name: rechat
    provider: rechat
    key: {credential: rechat-key}
    keys: [{credential: rechat-key-showings}]
sinks:
  - name: archive
    type: file
    path: %s
`, addr, filepath.Join(dir, "state"), filepath.Join(dir, "leads.jsonl"))), 0o600)
	if out, code := runCLI(t, dir, nil, "check", "--config", cfg); code != 0 {
		t.Fatalf("check: exit %d:\n%s", code, out)
	}
	d := startDaemon(t, cfg, addr)
	if out, code := runCLI(t, dir, nil, "send-test", "rechat", "--config", cfg); code != 0 || !strings.Contains(out, "200") {
		t.Fatalf("send-test rechat with the created key: exit %d:\n%s\n%s", code, out, d.logs)
	}
	d.stop()
}

func TestSubscribeRechatListAndDelete(t *testing.T) {
	f, srv := newFakeRechat(t, fakeToken, fakeBrand)
	dir := t.TempDir()
	env := []string{"RECHAT_TOKEN=" + fakeToken}
	base := []string{"subscribe", "rechat", "--brand", fakeBrand, "--api-url", srv.URL}
	for _, topic := range []string{"Contacts", "Showings"} {
		if out, code := runCLI(t, dir, env, append(base, "--topic", topic, "--url", "https://h.example/webhooks/rechat")...); code != 0 {
			t.Fatalf("create %s: exit %d:\n%s", topic, code, out)
		}
	}
	c, s := f.hook(0), f.hook(1)

	out, code := runCLI(t, dir, env, append(base, "--list")...)
	if code != 0 || !strings.Contains(out, c["id"].(string)) || !strings.Contains(out, s["id"].(string)) {
		t.Fatalf("--list: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, c["key"].(string)) || strings.Contains(out, fakeToken) {
		t.Fatalf("--list shows a key or the token without --show-keys:\n%s", out)
	}
	out, code = runCLI(t, dir, env, append(base, "--list", "--topic", "showings", "--show-keys")...)
	if code != 0 || strings.Contains(out, c["id"].(string)) || !strings.Contains(out, s["key"].(string)) {
		t.Fatalf("--list --topic showings --show-keys: exit %d:\n%s", code, out)
	}
	if last := f.lastRequest(); last != "GET /brands/"+fakeBrand+"/webhooks?topic=Showings" {
		t.Fatalf("list request %q", last)
	}

	out, code = runCLI(t, dir, env, append(base, "--delete", c["id"].(string))...)
	if code != 0 || !strings.Contains(out, "Deleted") {
		t.Fatalf("--delete: exit %d:\n%s", code, out)
	}
	out, code = runCLI(t, dir, env, append(base, "--list", "--json")...)
	var list []struct{ ID, Key string }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].ID != s["id"] || list[0].Key != "" {
		t.Fatalf("--list --json after delete: exit %d:\n%s", code, out)
	}
	// Deleting it again: Rechat's 404, with its body, exit 1.
	out, code = runCLI(t, dir, env, append(base, "--delete", c["id"].(string))...)
	if code != 1 || !strings.Contains(out, "404 Not Found") || !strings.Contains(out, "webhook not found") {
		t.Fatalf("--delete twice: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, fakeToken) || !strings.Contains(out, "Bearer [token]") {
		t.Fatalf("the echoed token is not scrubbed:\n%s", out)
	}
}

// TestSubscribeRechatNeverShowsTheToken: every failure (a wrong token,
// a wrong brand, a bad answer) prints the status and a short body, and the
// token appears nowhere, although the fake echoes the Authorization header.
func TestSubscribeRechatNeverShowsTheToken(t *testing.T) {
	_, srv := newFakeRechat(t, fakeToken, fakeBrand)
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<html>proxy says hi to "+r.Header.Get("Authorization")+"</html>")
	}))
	defer garbage.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	dir := t.TempDir()
	wrong := "rct_wrongWrongWrong0123456789abcdef"
	create := func(api, brand string) []string {
		return []string{"subscribe", "rechat", "--brand", brand, "--topic", "Contacts",
			"--url", "https://h.example/webhooks/rechat", "--api-url", api}
	}
	for name, c := range map[string]struct {
		token string
		args  []string
		want  []string
	}{
		"wrong token":  {wrong, create(srv.URL, fakeBrand), []string{"401 Unauthorized", "invalid access token", "Bearer [token]"}},
		"wrong brand":  {fakeToken, create(srv.URL, "0000-other-brand"), []string{"404 Not Found", "brand not found", "Bearer [token]"}},
		"not json":     {fakeToken, create(garbage.URL, fakeBrand), []string{"200 OK", "proxy says hi to Bearer [token]"}},
		"redirect":     {fakeToken, create(redirect.URL, fakeBrand), []string{"307 Temporary Redirect"}},
		"list wrong":   {wrong, []string{"subscribe", "rechat", "--brand", fakeBrand, "--list", "--api-url", srv.URL}, []string{"401"}},
		"delete wrong": {wrong, []string{"subscribe", "rechat", "--brand", fakeBrand, "--delete", "d9dc8237", "--api-url", srv.URL}, []string{"401"}},
	} {
		t.Run(name, func(t *testing.T) {
			out, code := runCLI(t, dir, []string{"RECHAT_TOKEN=" + c.token}, c.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			if strings.Contains(out, c.token) {
				t.Fatalf("output contains the token:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestSubscribeRechatUsageErrors(t *testing.T) {
	dir := t.TempDir()
	base := []string{"subscribe", "rechat", "--brand", fakeBrand}
	for name, c := range map[string]struct {
		env  []string
		args []string
		want string
	}{
		"no token":       {[]string{"RECHAT_TOKEN="}, append(base, "--topic", "Contacts", "--url", "https://h.example/w"), "RECHAT_TOKEN is not set"},
		"token-env":      {[]string{"MY_TOKEN="}, append(base, "--topic", "Contacts", "--url", "https://h.example/w", "--token-env", "MY_TOKEN"), "MY_TOKEN is not set"},
		"bad topic":      {[]string{"RECHAT_TOKEN=x"}, append(base, "--topic", "Listings", "--url", "https://h.example/w"), "must be one of Contacts, Showings, Deals"},
		"no url":         {[]string{"RECHAT_TOKEN=x"}, append(base, "--topic", "Contacts"), "needs --url"},
		"no brand":       {[]string{"RECHAT_TOKEN=x"}, []string{"subscribe", "rechat", "--list"}, "brand"},
		"http api":       {[]string{"RECHAT_TOKEN=secret-token-1"}, append(base, "--list", "--api-url", "http://api.rechat.com"), "must be https"},
		"missing file":   {nil, append(base, "--list", "--token-file", filepath.Join(dir, "nope")), "--token-file"},
		"list and url":   {[]string{"RECHAT_TOKEN=x"}, append(base, "--list", "--url", "https://h.example/w"), "none of the others"},
		"relative url":   {[]string{"RECHAT_TOKEN=x"}, append(base, "--topic", "Deals", "--url", "/webhooks/rechat", "--api-url", "http://127.0.0.1:9"), "absolute"},
		"bad webhook id": {[]string{"RECHAT_TOKEN=x"}, append(base, "--delete", "../x", "--api-url", "http://127.0.0.1:9"), "must be a Rechat id"},
	} {
		t.Run(name, func(t *testing.T) {
			out, code := runCLI(t, dir, c.env, c.args...)
			if code == 0 || !strings.Contains(out, c.want) {
				t.Fatalf("exit %d, want an error with %q:\n%s", code, c.want, out)
			}
			if strings.Contains(out, "secret-token-1") {
				t.Fatalf("output contains the token:\n%s", out)
			}
		})
	}
}
