package salesforce

// Sending requests to the org and turning answers into the Sink contract's
// error classes: sinks.ClassifyHTTP first, Salesforce's own rules on top.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks"
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 1 << 20

// minSecret is the shortest credential scrubbed from answers: shorter ones
// would blank out ordinary words.
const minSecret = 6

// answer is a peer's HTTP answer, body read and scrubbed.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// newClient returns the client to send with and whether the sink owns it.
// Redirects are not followed: credentials must go to the configured host
// only, and a 300 (several records match) must be seen as such.
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

// do sends req and reads the answer, with every credential (the client's
// and the access token sent) scrubbed from its body: a careless peer may
// echo a request, and nothing from here may carry one into an error, a
// dead letter or a log line. A failure to get an answer comes back
// classified by sinks.ClassifyErr.
func (s *Sink) do(req *http.Request, accessToken string) (*answer, error) {
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
	s.log.Debug("salesforce answer", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode)
	for _, secret := range []string{s.clientSecret, s.clientID, accessToken} {
		if len(secret) >= minSecret {
			body = bytes.ReplaceAll(body, []byte(secret), []byte("***"))
		}
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// classify applies sinks.ClassifyHTTP to a.
func (a *answer) classify(maxWait time.Duration) error {
	resp := &http.Response{StatusCode: a.status, Header: a.header, Body: io.NopCloser(bytes.NewReader(a.body))}
	return sinks.ClassifyHTTP(resp, maxWait)
}

// errorCodes returns the errorCode of each entry of a REST API error answer,
// [{"message":"…","errorCode":"…","fields":[…]}].
func (a *answer) errorCodes() []string {
	var errs []struct {
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(a.body, &errs) != nil {
		return nil
	}
	codes := make([]string, 0, len(errs))
	for _, e := range errs {
		codes = append(codes, e.ErrorCode)
	}
	return codes
}

// Error codes that call for a retry whatever the status: a record locked by
// another transaction, an org briefly unavailable.
var transientCodes = []string{"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE"}

// classifyUpsert is classify with Salesforce's rules for the sObject
// upsert: 300 (several records carry the external id) and the usual 4xx
// are permanent; 403 REQUEST_LIMIT_EXCEEDED (Salesforce's rate limit; it
// does not use 429) waits limitWait; UNABLE_TO_LOCK_ROW and
// SERVER_UNAVAILABLE retry; a 401 that survived a fresh token retries, as
// it is the org's setup, not the lead, that is wrong.
func (s *Sink) classifyUpsert(a *answer, leadID string) error {
	err := a.classify(s.maxWait)
	if err == nil {
		return nil
	}
	var he *sinks.HTTPError
	errors.As(err, &he)
	codes := a.errorCodes()
	switch {
	case a.status == http.StatusMultipleChoices:
		return sinks.Permanent(fmt.Errorf("several Leads have %s = %s (mark the field Unique): %w", s.externalID, leadID, he))
	case a.status == http.StatusForbidden && slices.Contains(codes, "REQUEST_LIMIT_EXCEEDED"):
		return sinks.RetryAfter(fmt.Errorf("api request limit exceeded: %w", he), min(s.limitWait, s.maxWait))
	case slices.ContainsFunc(codes, func(c string) bool { return slices.Contains(transientCodes, c) }):
		return fmt.Errorf("transient: %w", he)
	case a.status == http.StatusUnauthorized:
		return fmt.Errorf("session refused with a fresh token (check the connected app's run-as user; deliveries are retried): %w", he)
	}
	return err
}

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
