package sync

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
)

// answer is the JSON body of a webhook response.
type answer struct {
	Status  string   `json:"status"`
	EventID string   `json:"event_id,omitempty"`
	LeadID  string   `json:"lead_id,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Events  []answer `json:"events,omitempty"` // when one request carries several events
}

// serveWebhook is POST /webhooks/<source>. The order of checks is the order
// of cost: nothing is parsed before the signature is verified on the raw
// bytes, and nothing is answered 2xx before it is durable.
func (e *Engine) serveWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("source")
	src := e.sources[name]
	if src == nil {
		writeJSON(w, http.StatusNotFound, answer{Status: "error", Reason: "unknown source"})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, answer{Status: "error", Reason: "use POST"})
		return
	}
	reqID := r.Header.Get("X-Request-Id")
	if reqID == "" {
		reqID = newRequestID()
	}
	log := e.log.With("source", name, "request_id", reqID)
	if e.draining.Load() {
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, answer{Status: "error", Reason: "shutting down"})
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		e.counters.reject(name)
		log.Warn("webhook rejected", "answer", 415, "reason", "content type is not JSON")
		writeJSON(w, http.StatusUnsupportedMediaType, answer{Status: "error", Reason: "content type must be application/json"})
		return
	}
	if r.ContentLength > e.o.MaxBody {
		e.tooLarge(w, log, name)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, e.o.MaxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		e.tooLarge(w, log, name)
		return
	case err != nil:
		log.Warn("webhook body unreadable", "err", err)
		writeJSON(w, http.StatusBadRequest, answer{Status: "error", Reason: "body could not be read"})
		return
	}

	ip := providers.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), e.o.TrustedProxies)
	if src.Allow != nil && !src.Allow(ip) {
		e.counters.reject(name)
		log.Warn("webhook rejected", "answer", 403, "reason", "source address not allowed", "remote_ip", ip.String())
		writeJSON(w, http.StatusForbidden, answer{Status: "error", Reason: "address not allowed"})
		return
	}
	req := &providers.Request{Source: name, Body: body, Header: r.Header, RemoteIP: ip,
		ReceivedAt: e.now().UTC(), RequestID: reqID}
	if err := src.Source.Verify(r.Context(), req); err != nil {
		e.verifyFailed(w, log, name, err)
		return
	}
	in := e.incoming(src.Source, req, log)
	res, err := e.o.Store.Commit(in)
	if err != nil {
		log.Error("commit failed; answering 503 so the provider retries", "err", err)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, answer{Status: "error", Reason: "temporarily unavailable"})
		return
	}
	e.committed(res, log)
	writeJSON(w, http.StatusOK, summarize(res))
}

func (e *Engine) tooLarge(w http.ResponseWriter, log *slog.Logger, name string) {
	e.counters.reject(name)
	log.Warn("webhook rejected", "answer", 413, "reason", "body larger than max_body", "max_body", e.o.MaxBody)
	writeJSON(w, http.StatusRequestEntityTooLarge, answer{Status: "error", Reason: "body too large"})
}

func (e *Engine) verifyFailed(w http.ResponseWriter, log *slog.Logger, name string, err error) {
	switch {
	case errors.Is(err, providers.ErrUnavailable):
		log.Error("verification unavailable; answering 503 so the provider retries", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, answer{Status: "error", Reason: "temporarily unavailable"})
	case errors.Is(err, providers.ErrForbidden):
		e.counters.reject(name)
		log.Warn("webhook rejected", "answer", 403, "reason", err.Error())
		writeJSON(w, http.StatusForbidden, answer{Status: "error", Reason: "forbidden"})
	default:
		e.counters.reject(name)
		log.Warn("webhook rejected", "answer", 401, "reason", err.Error())
		writeJSON(w, http.StatusUnauthorized, answer{Status: "error", Reason: "invalid signature"})
	}
}

// incoming parses a verified request into what the store commits. A body the
// provider cannot map is quarantined whole, keyed by its hash, so that a
// retry of it is a duplicate and a replay after a mapping fix can find it.
func (e *Engine) incoming(src providers.Source, req *providers.Request, log *slog.Logger) *state.Incoming {
	in := &state.Incoming{Raw: state.RawRequest{
		Source: req.Source, RequestID: req.RequestID, RemoteIP: req.RemoteIP.String(),
		Header: keptHeaders(req.Header), Body: req.Body, Received: req.ReceivedAt.UnixNano(),
	}}
	events, err := src.Parse(req)
	if err != nil {
		sum := sha256.Sum256(req.Body)
		events = []lead.Event{{Key: lead.Key(req.Source, "raw", hex.EncodeToString(sum[:])),
			Status: lead.StatusQuarantined, Reason: err.Error()}}
	}
	for i := range events {
		ev := events[i]
		it := state.Item{Event: ev, Via: lead.ViaWebhook}
		if ev.Status == lead.StatusAccepted && ev.Lead != nil {
			body, err := ev.Lead.Marshal()
			if err != nil { // cannot happen for a Lead; keep the event rather than drop it
				it.Event.Status, it.Event.Reason = lead.StatusQuarantined, fmt.Sprintf("encode lead: %v", err)
			}
			it.LeadJSON = body
			it.Sinks = e.route(ev.Lead)
		}
		in.Items = append(in.Items, it)
	}
	return in
}

// committed logs what became of each event and wakes the dispatchers of the
// sinks that got work.
func (e *Engine) committed(res []state.Result, log *slog.Logger) {
	for _, r := range res {
		l := log.With("event_id", r.EventID)
		if r.LeadID != "" {
			l = l.With("lead_id", r.LeadID)
		}
		switch r.Status {
		case lead.StatusAccepted:
			l.Info("lead accepted", "sinks", len(r.Sinks))
			for _, s := range r.Sinks {
				e.disp[s].poke()
			}
		case lead.StatusDuplicate:
			l.Debug("duplicate event")
		case lead.StatusQuarantined:
			l.Warn("event quarantined", "reason", r.Reason)
		default:
			l.Info("event "+r.Status, "reason", r.Reason)
		}
	}
}

// summarize turns results into the answer: one event answers as SPEC.md
// shows; several carry each in "events".
func summarize(res []state.Result) answer {
	one := func(r state.Result) answer {
		a := answer{Status: r.Status, EventID: r.EventID, LeadID: r.LeadID, Reason: r.Reason}
		switch r.Status {
		case lead.StatusStale:
			a.Status = lead.StatusIgnored
		case lead.StatusDuplicate, lead.StatusQuarantined, lead.StatusIgnored:
			a.LeadID = ""
		}
		return a
	}
	if len(res) == 1 {
		return one(res[0])
	}
	a := answer{Status: lead.StatusIgnored}
	if len(res) == 0 {
		a.Reason = "no events in request"
	}
	rank := map[string]int{lead.StatusIgnored: 0, lead.StatusDuplicate: 1, lead.StatusQuarantined: 2, lead.StatusAccepted: 3}
	for _, r := range res {
		ra := one(r)
		a.Events = append(a.Events, ra)
		if rank[ra.Status] > rank[a.Status] {
			a.Status = ra.Status
		}
	}
	return a
}

// keptHeaders are the request headers stored with the raw request: what a
// replay or an operator needs, never credentials.
func keptHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		lk := strings.ToLower(k)
		switch {
		case lk == "authorization", lk == "cookie", lk == "proxy-authorization":
			continue
		case lk == "content-type", lk == "user-agent", strings.HasPrefix(lk, "x-"),
			strings.HasPrefix(lk, "reapit-"), strings.HasPrefix(lk, "webhook-"):
			out[lk] = strings.Join(v, ", ")
		}
	}
	return out
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
