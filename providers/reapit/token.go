package reapit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Token reuse: a token is used until tokenMargin before it expires (or half
// its lifetime, for a short-lived one), so that a call never starts with a
// token about to lapse. tokenTimeout bounds one token request.
const (
	tokenMargin  = 60 * time.Second
	tokenTimeout = 15 * time.Second
	maxTokenBody = 64 << 10
	maxTokenLife = 24 * 60 * 60 // seconds; a longer expires_in is capped (and cannot overflow)
)

// tokenClient gets access tokens by the client-credentials flow and shares
// them: concurrent callers wait for one refresh.
type tokenClient struct {
	url, id, secret string
	hc              *http.Client
	now             func() time.Time
	log             *slog.Logger

	mu     sync.Mutex
	tok    string
	until  time.Time // reuse tok before this instant
	flight *tokenFlight
}

type tokenFlight struct {
	done chan struct{}
	tok  string
	err  error
}

// token returns a valid access token, refreshing it when needed. Errors wrap
// providers.ErrUnavailable when a retry may succeed (network, 429, 5xx);
// a refused credential is a plain error.
func (c *tokenClient) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	if c.tok != "" && c.now().Before(c.until) {
		tok := c.tok
		c.mu.Unlock()
		return tok, nil
	}
	f := c.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		c.flight = f
		go c.refresh(f)
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for access token: %w", ctx.Err())
	}
}

// invalidate drops tok after the API refused it, unless another caller has
// already replaced it, so that a burst of 401s causes one refresh.
func (c *tokenClient) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok, c.until = "", time.Time{}
	}
}

// refresh requests a token for every caller waiting on f, on its own
// goroutine so that no one caller's cancellation fails the others;
// tokenTimeout bounds it.
func (c *tokenClient) refresh(f *tokenFlight) {
	ctx, cancel := context.WithTimeout(context.Background(), tokenTimeout)
	defer cancel()
	tok, life, err := c.request(ctx)
	c.mu.Lock()
	if err == nil {
		c.tok, c.until = tok, c.now().Add(life-min(tokenMargin, life/2))
		c.log.Debug("got access token", "expires_in", life)
	} else {
		c.log.Warn("access token request failed", "error", err)
	}
	f.tok, f.err = tok, err
	c.flight = nil
	c.mu.Unlock()
	close(f.done)
}

// tokenResponse is the token endpoint's JSON answer.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
	Error       string `json:"error"`
}

// request does POST {token_url} with client_id and grant_type in the form
// and the credentials as Basic auth.
func (c *tokenClient) request(ctx context.Context) (string, time.Duration, error) {
	if c.id == "" || c.secret == "" {
		return "", 0, errors.New("access token: client_id and client_secret are required")
	}
	form := url.Values{"client_id": {c.id}, "grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("access token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.id, c.secret)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("access token: %w: %w", redactURLError(err), providers.ErrUnavailable)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody))
	if err != nil {
		return "", 0, fmt.Errorf("access token: read answer: %w: %w", err, providers.ErrUnavailable)
	}
	var tr tokenResponse
	_ = json.Unmarshal(body, &tr) // judged below by status and fields
	if err := classify("token endpoint", resp); err != nil {
		if tr.Error != "" {
			err = fmt.Errorf("%w (%s)", err, printable(tr.Error))
		}
		return "", 0, fmt.Errorf("access token: %w", err)
	}
	switch {
	case tr.AccessToken == "":
		return "", 0, errors.New("access token: answer has no access_token")
	case tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer"):
		return "", 0, fmt.Errorf("access token: token_type %q, want Bearer", printable(tr.TokenType))
	}
	life := time.Duration(min(max(tr.ExpiresIn, 0), maxTokenLife)) * time.Second
	return tr.AccessToken, life, nil
}

// redactURLError keeps a transport error's cause but not its URL: a
// *url.Error prints the whole URL, and a misconfigured one might hold
// credentials.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
