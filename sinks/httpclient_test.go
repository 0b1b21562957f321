package sinks_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks"
)

func TestAPIBase(t *testing.T) {
	for raw, want := range map[string]string{
		"https://api.example.com/":  "https://api.example.com",
		"https://api.example.com/x": "https://api.example.com/x",
		"http://127.0.0.1:8080":     "http://127.0.0.1:8080",
		"http://localhost/":         "http://localhost",
		"http://api.example.com":    "",
		"https://u:p@example.com":   "",
		"https://example.com/?k=v":  "",
		"example.com":               "",
	} {
		got, err := sinks.APIBase(raw)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("APIBase(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}

func TestSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" || r.Header.Get("User-Agent") != sinks.UserAgent() {
			t.Errorf("headers %v", r.Header)
		}
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte("echo: secret-token, short, " + strings.Repeat("x", 100)))
	}))
	defer srv.Close()
	c, own := sinks.NewClient(nil)
	if !own || c.CheckRedirect == nil {
		t.Fatal("NewClient(nil): not owned or following redirects")
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	a, err := sinks.Send(c, req, 40, "secret-token", "short")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != http.StatusTeapot || string(a.Body) != "echo: ***, short, "+strings.Repeat("x", 13) {
		t.Errorf("answer %d %q", a.Status, a.Body)
	}
	if err := a.Classify(0); !sinks.IsPermanent(err) {
		t.Errorf("Classify = %v, want permanent", err)
	}
}

func TestSnippet(t *testing.T) {
	if got := sinks.Snippet(" a\nb\x00 "); got != "a b " {
		t.Errorf("Snippet = %q", got)
	}
	long := sinks.Snippet(strings.Repeat("ö", sinks.MaxBodySnippet))
	if len(long) > sinks.MaxBodySnippet || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("long Snippet: %d bytes, %q…", len(long), long[:8])
	}
}
