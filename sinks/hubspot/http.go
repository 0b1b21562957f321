package hubspot

// Sending a request and turning the answer into the Sink contract's error
// classes: sinks.ClassifyHTTP first, HubSpot's own rules on top.

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks"
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 1 << 20

// answer is a peer's HTTP answer, body read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// newClient returns the client to send with and whether the sink owns it.
// Redirects are not followed: a redirected POST would lose its body, and
// the bearer token must go to the configured host only.
func newClient(given *http.Client) (*http.Client, bool) {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if given != nil {
		c := *given
		if c.CheckRedirect == nil {
			c.CheckRedirect = noRedirect
		}
		return &c, false
	}
	return &http.Client{
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		CheckRedirect: noRedirect,
	}, true
}

// do sends req and reads the answer. A failure to get one comes back
// classified by sinks.ClassifyErr.
func (s *Sink) do(req *http.Request) (*answer, error) {
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", sinks.UserAgent())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, sinks.ClassifyErr(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil, sinks.ClassifyErr(err)
	}
	s.log.Debug("hubspot answer", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode)
	// A careless peer may echo our request headers; the token must not
	// reach an error, a dead letter or a log line from here.
	if len(s.token) >= minSecret {
		body = bytes.ReplaceAll(body, []byte(s.token), []byte("***"))
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// classify applies sinks.ClassifyHTTP to a.
func (a *answer) classify(maxWait time.Duration) error {
	resp := &http.Response{StatusCode: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body))}
	return sinks.ClassifyHTTP(resp, maxWait)
}

// minSecret is the shortest credential scrubbed: shorter ones would blank
// out ordinary words.
const minSecret = 6

// short returns s as one line of valid UTF-8 of at most
// sinks.MaxBodySnippet bytes, for text leadsync puts in an HTTPError itself.
func short(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) <= sinks.MaxBodySnippet {
		return s
	}
	cut := sinks.MaxBodySnippet - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
