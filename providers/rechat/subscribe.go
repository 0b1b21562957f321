package rechat

// This file is a small client for Rechat's brand webhook management API,
// which `leadsync subscribe rechat` uses to create the webhooks this
// package's sources receive:
//
//	POST   {api}/brands/:id/webhooks        {"topic", "url"} → 200 {"code": "OK", "data": webhook}
//	GET    {api}/brands/:id/webhooks[?topic=T]               → 200 {"code": "OK", "data": [webhook…], "info"}
//	DELETE {api}/brands/:id/webhooks/:wid                    → 204
//
// where a webhook is {"id", "created_at", "updated_at", "deleted_at",
// "brand", "topic", "url", "key", "tags", "type": "brand_webhook"}. Requests
// carry the API token as "Authorization: Bearer <token>" (Rechat's OAuth
// access token; the webhook documentation does not repeat how the API
// authenticates).
//
// The token never leaves the Authorization header: no error contains it,
// and an answer that echoes it (a proxy's or a debug error page) is
// scrubbed before it is shown. Redirects are not followed, so the header
// is never replayed to another host.

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultAPIURL is Rechat's API base.
const DefaultAPIURL = "https://api.rechat.com"

// WebhookTopics are the topics a brand webhook can be created for.
var WebhookTopics = []string{TopicContacts, TopicShowings, TopicDeals}

// WebhookTopic returns the topic as Rechat spells it (Contacts, Showings,
// Deals) for any capitalisation of it, and false for another topic.
func WebhookTopic(s string) (string, bool) {
	for _, t := range WebhookTopics {
		if strings.EqualFold(strings.TrimSpace(s), t) {
			return t, true
		}
	}
	return "", false
}

// Webhook is a brand webhook as Rechat returns it. Key is the secret that
// signs its deliveries: 64 hex characters, the source's key.
type Webhook struct {
	ID        string   `json:"id"`
	Brand     string   `json:"brand"`
	Topic     string   `json:"topic"`
	URL       string   `json:"url"`
	Key       string   `json:"key,omitempty"`
	CreatedAt float64  `json:"created_at,omitempty"`
	UpdatedAt float64  `json:"updated_at,omitempty"`
	DeletedAt *float64 `json:"deleted_at,omitempty"`
	Type      string   `json:"type,omitempty"`
}

// Created returns CreatedAt (Unix seconds with a fraction) as a time; zero
// when Rechat sent none.
func (w Webhook) Created() time.Time {
	if w.CreatedAt <= 0 {
		return time.Time{}
	}
	sec := int64(w.CreatedAt)
	return time.Unix(sec, int64((w.CreatedAt-float64(sec))*1e9)).UTC()
}

// ValidKey reports whether key is what a source accepts: 64 hex characters.
func ValidKey(key string) bool {
	b, err := hex.DecodeString(key)
	return err == nil && len(b) == 32
}

// APIError is an answer from Rechat other than the documented success. Body
// is the start of the answer, on one line, with the token scrubbed.
type APIError struct {
	Method string
	URL    string
	Status int
	// StatusText is the status line's text, e.g. "401 Unauthorized".
	StatusText string
	Body       string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("rechat: %s %s: %s", e.Method, e.URL, e.StatusText)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// WebhookClient calls the brand webhook API. The zero value is not usable:
// Token is required.
type WebhookClient struct {
	// APIURL is the API base, default DefaultAPIURL: an absolute https URL
	// (http only to a loopback host, for tests), without user info, query
	// or fragment.
	APIURL string
	// Token is the Rechat API access token, sent as a Bearer token.
	Token string
	// HTTP sends the requests; default a client with a 30 s timeout. A copy
	// of it that does not follow redirects is used.
	HTTP *http.Client
}

// maxAnswer bounds how much of an answer is read; maxErrorBody how much of
// an error answer is shown.
const (
	maxAnswer    = 4 << 20
	maxErrorBody = 300
)

// redactedToken stands for the token in anything shown.
const redactedToken = "[token]"

// CreateWebhook creates a webhook of brand for topic (Contacts, Showings or
// Deals, any capitalisation) that posts to target, and returns it with its
// key.
func (c *WebhookClient) CreateWebhook(ctx context.Context, brand, topic, target string) (Webhook, error) {
	t, ok := WebhookTopic(topic)
	if !ok {
		return Webhook{}, fmt.Errorf("topic %q: must be one of %s", topic, strings.Join(WebhookTopics, ", "))
	}
	if err := checkTarget(target); err != nil {
		return Webhook{}, err
	}
	u, err := c.endpoint(brand, "")
	if err != nil {
		return Webhook{}, err
	}
	body, _ := json.Marshal(map[string]string{"topic": t, "url": target})
	var w Webhook
	if err := c.do(ctx, http.MethodPost, u, body, &w); err != nil {
		return Webhook{}, err
	}
	switch {
	case w.ID == "":
		return Webhook{}, fmt.Errorf("rechat: POST %s: the answer has no webhook id", u)
	case w.Key == "":
		return w, fmt.Errorf("rechat: POST %s: webhook %s was created but the answer has no key (fetch it with a list)", u, w.ID)
	}
	return w, nil
}

// ListWebhooks returns brand's webhooks (Rechat leaves out deleted ones),
// only those of topic unless topic is "".
func (c *WebhookClient) ListWebhooks(ctx context.Context, brand, topic string) ([]Webhook, error) {
	u, err := c.endpoint(brand, "")
	if err != nil {
		return nil, err
	}
	if topic != "" {
		t, ok := WebhookTopic(topic)
		if !ok {
			return nil, fmt.Errorf("topic %q: must be one of %s", topic, strings.Join(WebhookTopics, ", "))
		}
		u += "?" + url.Values{"topic": {t}}.Encode()
	}
	var list []Webhook
	if err := c.do(ctx, http.MethodGet, u, nil, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// DeleteWebhook deletes brand's webhook id.
func (c *WebhookClient) DeleteWebhook(ctx context.Context, brand, id string) error {
	if err := checkID("webhook id", id); err != nil {
		return err
	}
	u, err := c.endpoint(brand, id)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodDelete, u, nil, nil)
}

// endpoint returns {api}/brands/{brand}/webhooks[/{id}].
func (c *WebhookClient) endpoint(brand, id string) (string, error) {
	if err := checkID("brand", brand); err != nil {
		return "", err
	}
	base, err := apiBase(c.APIURL)
	if err != nil {
		return "", err
	}
	u := base + "/brands/" + url.PathEscape(brand) + "/webhooks"
	if id != "" {
		u += "/" + url.PathEscape(id)
	}
	return u, nil
}

func apiBase(s string) (string, error) {
	if s == "" {
		s = DefaultAPIURL
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", errors.New("api url: must be an absolute https URL")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", errors.New("api url: must not have user info, a query or a fragment")
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return "", errors.New("api url: must be https (plain http would send the token in clear); http is allowed only to localhost")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkID refuses what cannot be a Rechat id (a UUID): empty, or with
// characters that would need escaping.
func checkID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s: is required", what)
	}
	for _, c := range []byte(id) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return fmt.Errorf("%s %q: must be a Rechat id (letters, digits, '-' and '_')", what, id)
		}
	}
	return nil
}

// checkTarget requires the webhook's URL to be absolute http or https.
func checkTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: must be an absolute http or https URL (https://<your host>/webhooks/<source>)", target)
	}
	return nil
}

// checkToken refuses a token that cannot go in a header as is. The errors
// never contain it.
func checkToken(tok string) error {
	if tok == "" {
		return errors.New("no Rechat API token")
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] >= 0x7f {
			return errors.New("the Rechat API token contains a space, a control or a non-ASCII character")
		}
	}
	return nil
}

// do sends one request and decodes the documented {"code", "data"} answer's
// data into out (nil: no answer body expected).
func (c *WebhookClient) do(ctx context.Context, method, u string, body []byte, out any) error {
	if err := checkToken(c.Token); err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("rechat: %s %s: %w", method, u, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client().Do(req)
	if err != nil {
		// A *url.Error names the method and URL, neither holds the token.
		return fmt.Errorf("rechat: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("rechat: %s %s: %s: reading the answer: %w", method, u, resp.Status, err)
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, URL: u, Status: resp.StatusCode, StatusText: resp.Status, Body: c.short(raw)}
	}
	if out == nil {
		return nil
	}
	var env struct {
		Code string          `json:"code"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Data) == 0 || string(env.Data) == "null" {
		return fmt.Errorf("rechat: %s %s: %s: the answer is not {\"code\": \"OK\", \"data\": …}: %s", method, u, resp.Status, c.short(raw))
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("rechat: %s %s: the answer's data: %v", method, u, err)
	}
	return nil
}

// client returns c.HTTP, or a default, with redirects not followed: the
// Authorization header must not be replayed to wherever a 3xx points.
func (c *WebhookClient) client() *http.Client {
	hc := &http.Client{Timeout: 30 * time.Second}
	if c.HTTP != nil {
		cp := *c.HTTP
		hc = &cp
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc
}

// short returns the start of an answer on one line, the token scrubbed.
func (c *WebhookClient) short(raw []byte) string {
	s := Scrub(string(raw), c.Token)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxErrorBody {
		cut := maxErrorBody
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Scrub replaces every occurrence of token in s (as is, and URL-encoded)
// with "[token]".
func Scrub(s, token string) string {
	if token == "" {
		return s
	}
	for _, form := range []string{token, url.QueryEscape(token), url.PathEscape(token)} {
		s = strings.ReplaceAll(s, form, redactedToken)
	}
	return s
}
