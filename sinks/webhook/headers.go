package webhook

// The headers a request starts from, and keeping the credentials among them
// out of errors.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/leadsync/leadsync/sinks"
)

// reserved are headers Config.Headers may not set.
var reserved = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true, "Transfer-Encoding": true,
	http.CanonicalHeaderKey(HeaderID): true, http.CanonicalHeaderKey(HeaderTimestamp): true,
	http.CanonicalHeaderKey(HeaderSignature): true,
}

// buildHeader returns the headers every request starts from.
func buildHeader(extra map[string]string) (http.Header, error) {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", sinks.UserAgent())
	for name, value := range extra {
		canon := http.CanonicalHeaderKey(name)
		switch {
		case !isToken(name):
			return nil, fmt.Errorf("headers: %q: not a valid header name", name)
		case reserved[canon]:
			return nil, fmt.Errorf("headers: %s: set by the sink", canon)
		case strings.ContainsAny(value, "\r\n\x00"):
			return nil, fmt.Errorf("headers: %s: value has a line break or NUL", canon)
		}
		h.Set(canon, value)
	}
	return h, nil
}

// isToken reports whether s is an HTTP token (RFC 9110), as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// credentials lists what must never come back in an error, even when a
// peer echoes our request in its answer: the secret, its key, the header
// values, whole and word by word ("Bearer <token>"), and the URL's
// password, path segments and query values (hook URLs carry their token
// there: "no hook at /hooks/catch/123/abc"). Short words are left alone:
// they would blank out ordinary text.
func credentials(secret string, u *url.URL, headers map[string]string) []string {
	out := []string{secret, strings.TrimPrefix(secret, secretPrefix)}
	for _, v := range headers {
		out = append(out, v)
		out = append(out, strings.Fields(v)...)
	}
	if p, ok := u.User.Password(); ok {
		out = append(out, p)
	}
	out = append(out, u.EscapedPath(), u.Path, u.RawQuery)
	out = append(out, strings.Split(u.Path, "/")...)
	for _, vs := range u.Query() {
		out = append(out, vs...)
	}
	kept := out[:0]
	for _, v := range out {
		if len(v) >= 8 {
			kept = append(kept, v)
		}
	}
	return kept
}

// scrub removes credentials from the body snippet of err, should the peer
// have echoed our request headers.
func (s *Sink) scrub(err error) error {
	var he *sinks.HTTPError
	if errors.As(err, &he) {
		for _, v := range s.redact {
			he.Body = strings.ReplaceAll(he.Body, v, "***")
		}
	}
	return err
}
