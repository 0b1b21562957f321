package sinks

// What the sinks that call a JSON API with a credential (the CRMs) share:
// where they may send it, the client they send with, and an answer read
// whole with the credentials scrubbed from it. Each adds its own
// authentication header and its peer's rules on top of APIAnswer.Classify.

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIBase checks the root URL of an API that credentials are sent to and
// returns it without a trailing slash: https, or http to a loopback address
// only (tests, a local proxy), with a host and without query or user info.
// The error says only that; the caller names the config key.
func APIBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.User != nil || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		return "", errors.New("must be an https URL without query or user info")
	}
	return strings.TrimRight(raw, "/"), nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// OrDefault returns v, or def when v is not positive: a Config's zero (or
// nonsensical negative) duration or count means "the default".
func OrDefault[T ~int | ~int64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// NewClient returns the client an HTTP sink sends with and whether the sink
// owns it (and so closes its idle connections on Close). Redirects are not
// followed: a redirected POST would lose its body, credentials must go to
// the configured host only, and a 3xx must be seen as such. given (tests,
// proxies) is copied, and keeps its own CheckRedirect if it has one; else
// the client has a transport of its own, a clone of the default one.
func NewClient(given *http.Client) (*http.Client, bool) {
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if given != nil {
		c := *given
		if c.CheckRedirect == nil {
			c.CheckRedirect = noRedirect
		}
		return &c, false
	}
	// The default transport keeps 2 idle connections per host: with more
	// deliveries than that in flight, every other one would dial anew.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	return &http.Client{Transport: tr, CheckRedirect: noRedirect}, true
}

// MinSecret is the length of the shortest credential Send scrubs: shorter
// ones would blank out ordinary words.
const MinSecret = 6

// APIAnswer is an HTTP peer's answer, its body read (and scrubbed) by Send.
type APIAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send sends req with client, asking for JSON (Accept: application/json)
// as leadsync (User-Agent: UserAgent()), and reads at most limit bytes of
// the answer. Every secret of at least MinSecret bytes is replaced by "***"
// in the body read: a careless peer may echo the request, and nothing from
// here may carry a credential into an error, a dead letter or a log line.
// The caller sets the authentication header. A failure to get an answer,
// or to read a 2xx one, comes back classified by ClassifyErr; a non-2xx
// body cut short by a read error is kept as far as it was read.
func Send(client *http.Client, req *http.Request, limit int64, secrets ...string) (*APIAnswer, error) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", UserAgent())
	resp, err := client.Do(req)
	if err != nil {
		return nil, ClassifyErr(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil, ClassifyErr(err)
	}
	for _, secret := range secrets {
		if len(secret) >= MinSecret {
			body = bytes.ReplaceAll(body, []byte(secret), []byte("***"))
		}
	}
	return &APIAnswer{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// Classify applies ClassifyHTTP to a.
func (a *APIAnswer) Classify(maxWait time.Duration) error {
	resp := &http.Response{StatusCode: a.Status, Header: a.Header, Body: io.NopCloser(bytes.NewReader(a.Body))}
	return ClassifyHTTP(resp, maxWait)
}

// Snippet returns s as one line of valid UTF-8 of at most MaxBodySnippet
// bytes, "…" marking a cut: for text a sink puts in an HTTPError itself
// (part of an answer it read, a peer's message).
func Snippet(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) <= MaxBodySnippet {
		return s
	}
	cut := MaxBodySnippet - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
