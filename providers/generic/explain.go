package generic

import (
	"errors"
	"net/http"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// Explain maps body as a source configured with cfg would, without
// verifying anything, for a dry run (`--explain`): it needs the mapping
// settings only, not the secrets. Headers the mapping may read are filled
// in: the id header with "explain" and the timestamp header with the time of
// the call, which is also the received time. Name defaults to "explain".
func Explain(cfg Config, body []byte) ([]lead.Event, error) {
	if cfg.Name == "" {
		cfg.Name = "explain"
	}
	m, err := newMapping(cfg)
	if err != nil {
		return nil, err
	}
	if m.eventID.IsRoot() && cfg.IDHeader == "" {
		return nil, errors.New("event_id: required (or signature.id_header, whose value is then the event id)")
	}
	now := time.Now
	if cfg.Now != nil {
		now = cfg.Now
	}
	s := &Source{name: cfg.Name, m: m, now: now, sig: signature{idHeader: cfg.IDHeader, tsHeader: cfg.TimestampHeader}}
	at := now()
	h := http.Header{}
	if cfg.IDHeader != "" {
		h.Set(cfg.IDHeader, "explain")
	}
	if cfg.TimestampHeader != "" {
		s.sig.tsUnit = or(cfg.TimestampUnit, UnitAuto)
		h.Set(cfg.TimestampHeader, formatTimestamp(at, s.sig.tsUnit))
	}
	return s.Parse(&providers.Request{Source: cfg.Name, Body: body, Header: h, ReceivedAt: at})
}
