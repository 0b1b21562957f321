package salesforce

// Sending requests to the org and turning answers into the Sink contract's
// error classes: sinks.ClassifyHTTP first, Salesforce's own rules on top.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/leadsync/leadsync/sinks"
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 1 << 20

// do sends req and reads the answer, with every credential (the client's
// and the access token sent) scrubbed from its body: a careless peer may
// echo a request, and nothing from here may carry one into an error, a
// dead letter or a log line. A failure to get an answer comes back
// classified by sinks.ClassifyErr.
func (s *Sink) do(req *http.Request, accessToken string) (*sinks.APIAnswer, error) {
	a, err := sinks.Send(s.client, req, maxAnswer, s.clientSecret, s.clientID, accessToken)
	if err != nil {
		return nil, err
	}
	s.log.Debug("salesforce answer", "method", req.Method, "path", req.URL.Path, "status", a.Status)
	return a, nil
}

// errorCodes returns the errorCode of each entry of a REST API error answer,
// [{"message":"…","errorCode":"…","fields":[…]}].
func errorCodes(a *sinks.APIAnswer) []string {
	var errs []struct {
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(a.Body, &errs) != nil {
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

// classifyUpsert is a.Classify with Salesforce's rules for the sObject
// upsert: 300 (several records carry the external id) and the usual 4xx
// are permanent; 403 REQUEST_LIMIT_EXCEEDED (Salesforce's rate limit; it
// does not use 429) waits limitWait; UNABLE_TO_LOCK_ROW and
// SERVER_UNAVAILABLE retry; a 401 that survived a fresh token retries, as
// it is the org's setup, not the lead, that is wrong.
func (s *Sink) classifyUpsert(a *sinks.APIAnswer, leadID string) error {
	err := a.Classify(s.maxWait)
	if err == nil {
		return nil
	}
	var he *sinks.HTTPError
	errors.As(err, &he)
	codes := errorCodes(a)
	switch {
	case a.Status == http.StatusMultipleChoices:
		return sinks.Permanent(fmt.Errorf("several Leads have %s = %s (mark the field Unique): %w", s.externalID, leadID, he))
	case a.Status == http.StatusForbidden && slices.Contains(codes, "REQUEST_LIMIT_EXCEEDED"):
		return sinks.RetryAfter(fmt.Errorf("api request limit exceeded: %w", he), min(s.limitWait, s.maxWait))
	case slices.ContainsFunc(codes, func(c string) bool { return slices.Contains(transientCodes, c) }):
		return fmt.Errorf("transient: %w", he)
	case a.Status == http.StatusUnauthorized:
		return fmt.Errorf("session refused with a fresh token (check the connected app's run-as user; deliveries are retried): %w", he)
	}
	return err
}
