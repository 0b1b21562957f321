package hubspot

// Sending a request and turning the answer into the Sink contract's error
// classes: sinks.ClassifyHTTP first, HubSpot's own rules on top.

import (
	"net/http"

	"github.com/leadsync/leadsync/sinks"
)

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 1 << 20

// do sends req with the token and reads the answer, the token scrubbed from
// it. A failure to get one comes back classified by sinks.ClassifyErr.
func (s *Sink) do(req *http.Request) (*sinks.APIAnswer, error) {
	req.Header.Set("Authorization", "Bearer "+s.token)
	a, err := sinks.Send(s.client, req, maxAnswer, s.token)
	if err != nil {
		return nil, err
	}
	s.log.Debug("hubspot answer", "method", req.Method, "path", req.URL.Path, "status", a.Status)
	return a, nil
}
