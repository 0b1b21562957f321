package pipedrive

// The Pipedrive lead (Leads Inbox) and its note: each looked for before it
// is created, so that repeats and updates of a leadsync lead add nothing.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// pageSize is the largest page the list endpoints give.
const pageSize = 500

// maxPages bounds a listing; a person with more leads than this is not one.
const maxPages = 20

// ensureLead returns the Pipedrive lead whose origin_id is the leadsync
// lead id, creating it when there is none; created says which.
func (s *Sink) ensureLead(ctx context.Context, f map[string]string, personID int64) (id string, created bool, err error) {
	for _, path := range []string{"/v1/leads", "/v1/leads/archived"} {
		id, err := s.findLead(ctx, path, personID, f["id"])
		if err != nil || id != "" {
			return id, false, err
		}
	}
	in := map[string]any{}
	for k, v := range s.mapping.Apply(f) {
		in[k] = v
	}
	for k, v := range s.constants {
		in[k] = v
	}
	in["title"], in["person_id"], in["origin_id"] = title(f), personID, f["id"]
	var out struct {
		ID string `json:"id"`
	}
	if err := s.call(ctx, "create lead", "POST", "/v1/leads", nil, in, &out); err != nil {
		return "", false, err
	}
	if out.ID == "" {
		return "", false, errors.New("create lead: answer without id")
	}
	return out.ID, true, nil
}

// findLead pages through the person's leads at path for the one with
// origin_id. The archived list may not exist on older API versions (404,
// "nothing archived"), since GET /v1/leads once listed archived leads too.
func (s *Sink) findLead(ctx context.Context, path string, personID int64, originID string) (string, error) {
	for page := range maxPages {
		q := url.Values{"person_id": {strconv.FormatInt(personID, 10)}, "limit": {strconv.Itoa(pageSize)},
			"start": {strconv.Itoa(page * pageSize)}}
		var leads []struct {
			ID       string `json:"id"`
			OriginID string `json:"origin_id"`
		}
		err := s.call(ctx, "list leads", "GET", path, q, nil, &leads)
		if he := httpError(err); he != nil && he.Status == http.StatusNotFound && path != "/v1/leads" {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		for _, l := range leads {
			if l.OriginID == originID {
				return l.ID, nil
			}
		}
		if len(leads) < pageSize {
			return "", nil
		}
	}
	return "", nil
}

// title names the Pipedrive lead: "<person>: <intent>, listing <id>
// (<source>)", the parts the lead lacks left out.
func title(f map[string]string) string {
	var what []string
	if i := f["interest.intent"]; i != "" && i != lead.IntentOther {
		what = append(what, i)
	}
	if id := f["interest.listing.id"]; id != "" {
		what = append(what, "listing "+id)
	}
	t := personName(f)
	if len(what) > 0 {
		t += ": " + strings.Join(what, ", ")
	}
	if src := f["source.name"]; src != "" {
		t += " (" + src + ")"
	}
	return t
}

// ensureNote puts the lead's message in a note on the Pipedrive lead, once:
// a note ends with a marker of the leadsync lead id and the message's hash,
// and a note with that marker is not added again. A lead just created has
// no notes to look through.
func (s *Sink) ensureNote(ctx context.Context, f map[string]string, leadID string, created bool) error {
	msg := strings.TrimSpace(f["interest.message"])
	if msg == "" || s.noNote {
		return nil
	}
	marker := noteMarker(f["id"], msg)
	if !created {
		has, err := s.hasNote(ctx, leadID, marker)
		if err != nil || has {
			return err
		}
	}
	in := map[string]any{"lead_id": leadID, "content": noteContent(f, msg, marker)}
	return s.call(ctx, "add note", "POST", "/v1/notes", nil, in, nil)
}

// hasNote reports whether a note on the lead carries marker.
func (s *Sink) hasNote(ctx context.Context, leadID, marker string) (bool, error) {
	for page := range maxPages {
		q := url.Values{"lead_id": {leadID}, "limit": {strconv.Itoa(pageSize)}, "start": {strconv.Itoa(page * pageSize)}}
		var notes []struct {
			Content string `json:"content"`
		}
		if err := s.call(ctx, "list notes", "GET", "/v1/notes", q, nil, &notes); err != nil {
			return false, err
		}
		for _, n := range notes {
			if strings.Contains(n.Content, marker) {
				return true, nil
			}
		}
		if len(notes) < pageSize {
			return false, nil
		}
	}
	return false, nil
}

// noteMarker is plain text, so it survives Pipedrive's HTML clean-up.
func noteMarker(leadID, msg string) string {
	sum := sha256.Sum256([]byte(msg))
	return "leadsync " + leadID + " #" + hex.EncodeToString(sum[:6])
}

// noteContent is the note's HTML: the message, what it is about, the
// marker. Everything from the lead is escaped.
func noteContent(f map[string]string, msg, marker string) string {
	var b strings.Builder
	b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(msg), "\n", "<br>") + "</p>")
	var about []string
	for _, d := range noteDetails {
		if v := f[d.field]; v != "" {
			about = append(about, html.EscapeString(d.label+": "+v))
		}
	}
	if len(about) > 0 {
		b.WriteString("<p>" + strings.Join(about, " · ") + "</p>")
	}
	b.WriteString("<p><small>" + html.EscapeString(marker) + "</small></p>")
	return b.String()
}

// noteDetails are the lead fields a note shows under the message.
var noteDetails = []struct{ field, label string }{
	{"interest.intent", "intent"}, {"interest.listing.id", "listing"},
	{"interest.form", "form"}, {"source.name", "source"},
}

// httpError returns the peer's answer inside err, if any.
func httpError(err error) *sinks.HTTPError {
	var he *sinks.HTTPError
	if errors.As(err, &he) {
		return he
	}
	return nil
}
