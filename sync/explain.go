package sync

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/generic"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/config"
	"github.com/leadsync/leadsync/sync/lead"
)

// Explained is what a dry run found for one event: its status, the lead,
// and for every sink whether the lead goes there and what it would send.
type Explained struct {
	Key    string          `json:"key,omitempty"`
	Status string          `json:"status"`
	Reason string          `json:"reason,omitempty"`
	Lead   json.RawMessage `json:"lead,omitempty"`
	Routes []Route         `json:"routes,omitempty"`
}

// Route is one sink's part in a dry run.
type Route struct {
	Sink    string `json:"sink"`
	Type    string `json:"type"`
	Matches bool   `json:"matches"`
	Preview string `json:"preview,omitempty"`
}

// Explain is a dry run of cfg on body: with source set, body is a webhook
// payload of that source, mapped (not verified) into events; with source
// empty, body is a lead JSON. Nothing is stored or sent, and no file is
// created.
func Explain(cfg *config.Config, source string, body []byte) ([]Explained, error) {
	quiet := slog.New(slog.DiscardHandler)
	var events []lead.Event
	if source == "" {
		var l lead.Lead
		if err := json.Unmarshal(body, &l); err != nil || l.Schema != lead.Schema {
			return nil, fmt.Errorf("the file is not a lead JSON (schema %q); give --source to map a provider's payload", lead.Schema)
		}
		events = []lead.Event{{Status: lead.StatusAccepted, Lead: &l}}
	} else {
		sc := cfg.Source(source)
		if sc == nil {
			return nil, fmt.Errorf("no source named %q in the config", source)
		}
		var err error
		if sc.Provider == config.ProviderGeneric {
			// The generic provider's own dry run fills in the id and
			// timestamp headers its mapping may read.
			var gc generic.Config
			if gc, err = genericConfig(*sc, false); err == nil {
				events, err = generic.Explain(gc, body)
			}
		} else {
			var spec SourceSpec
			if spec, err = buildSource(*sc, env{log: quiet}); err != nil {
				return nil, err
			}
			req := &providers.Request{Source: source, Body: body, Header: http.Header{}, ReceivedAt: time.Now().UTC()}
			events, err = spec.Source.Parse(req)
		}
		if err != nil {
			return []Explained{{Status: lead.StatusQuarantined, Reason: err.Error()}}, nil
		}
	}
	var out []Explained
	for _, ev := range events {
		x := Explained{Key: ev.Key, Status: ev.Status, Reason: ev.Reason}
		if ev.Status == lead.StatusAccepted && ev.Lead != nil {
			b, err := ev.Lead.Marshal()
			if err != nil {
				return nil, err
			}
			x.Lead = b
			x.Routes = explainRoutes(cfg, ev.Lead, b, quiet)
		}
		out = append(out, x)
	}
	return out, nil
}

func explainRoutes(cfg *config.Config, l *lead.Lead, body []byte, log *slog.Logger) []Route {
	var out []Route
	for _, sc := range cfg.Sinks {
		m := matchOf(sc.Match)
		r := Route{Sink: sc.Name, Type: sc.Type, Matches: m.Matches(l)}
		if r.Matches {
			r.Preview = preview(sc, l, body, log)
		}
		out = append(out, r)
	}
	return out
}

// preview says what sink sc would send for the lead.
func preview(sc config.Sink, l *lead.Lead, body []byte, log *slog.Logger) string {
	switch sc.Type {
	case config.SinkWebhook:
		return "POST " + sc.URL + " (Standard Webhooks signed): " + string(body)
	case config.SinkFile:
		return "append to " + sc.Path + ": " + string(body)
	}
	build := sinkBuilders[sc.Type]
	if build == nil {
		return "(type not supported by this build)"
	}
	s, err := build(sc, log)
	if err != nil {
		return "(sink does not build: " + err.Error() + ")"
	}
	defer s.Close()
	p, ok := s.(sinks.Previewer)
	if !ok {
		return fmt.Sprintf("(%s upserts the lead; no preview)", sc.Type)
	}
	b, err := p.Preview(sinks.Delivery{ID: "msg_preview", Attempt: 1, Body: body, Lead: l})
	switch {
	case err != nil:
		return "(no preview: " + err.Error() + ")"
	case len(b) == 0: // e.g. Rechat, for a deleted lead
		return "(nothing to send)"
	}
	return string(b)
}
