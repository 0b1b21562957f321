package salesforce

// The access token: OAuth 2.0 client credentials flow against the org's
// token endpoint, fetched on first use, shared by every delivery, and
// fetched again when the org answers 401 (Salesforce does not say when a
// session ends; its policies decide). One fetch runs at a time: deliveries
// that need a token meanwhile wait for it rather than each asking.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/leadsync/leadsync/sinks"
)

// tokenPath is the token endpoint, below the instance URL.
const tokenPath = "/services/oauth2/token"

// token returns an access token: the one held, unless it is stale (the
// org refused it), else a new one. It honours ctx while waiting for a fetch
// in flight.
func (s *Sink) token(ctx context.Context, stale string) (string, error) {
	select {
	case s.tokenLock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.tokenLock }()
	if s.accessToken != "" && s.accessToken != stale {
		return s.accessToken, nil
	}
	tok, err := s.fetchToken(ctx)
	if err != nil {
		return "", err
	}
	s.accessToken = tok
	return tok, nil
}

// fetchToken asks the token endpoint for a new access token.
func (s *Sink) fetchToken(ctx context.Context) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.clientID}, "client_secret": {s.clientSecret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+tokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		return "", sinks.Permanent(fmt.Errorf("token: build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	a, err := s.do(req, "")
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if err := a.Classify(s.maxWait); err != nil {
		var he *sinks.HTTPError
		if errors.As(err, &he) && a.Status >= 400 && a.Status <= 499 && a.Status != http.StatusTooManyRequests {
			// invalid_client, invalid_grant…: the connected app's setup,
			// which the operator fixes; the leads wait for it.
			return "", fmt.Errorf("token refused (check client_id, client_secret and that the connected app "+
				"enables the client credentials flow with a run-as user; deliveries are retried): %w", he)
		}
		return "", fmt.Errorf("token: %w", err)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(a.Body, &t) != nil || t.AccessToken == "" {
		// The body is not quoted: it may hold a token after all.
		return "", fmt.Errorf("token: answer %d without access_token", a.Status)
	}
	return t.AccessToken, nil
}
