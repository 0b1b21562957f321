package sync

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
	"github.com/leadsync/leadsync/sync/lead/jsonw"
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
	start := time.Now()
	name := r.PathValue("source")
	wr := e.wiring.Load()
	src := wr.sources[name]
	if src == nil {
		writeJSON(w, http.StatusNotFound, answer{Status: "error", Reason: "unknown source"})
		return
	}
	code, ans := e.intake(w, r, wr, src)
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", retryAfter503)
	}
	writeAnswer(w, code, &ans)
	if code == http.StatusOK {
		src.series.ok.Inc()
		src.series.intake.Observe(time.Since(start).Seconds())
	} else {
		e.metrics.webhooks.WithLabelValues(name, strconv.Itoa(code)).Inc()
	}
}

func (e *Engine) intake(w http.ResponseWriter, r *http.Request, wr *wiring, src *SourceSpec) (int, answer) {
	name := src.Source.Name()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed, answer{Status: "error", Reason: "use POST"}
	}
	reqID := r.Header.Get("X-Request-Id")
	if reqID == "" || len(reqID) > maxRequestID {
		// A sender's id longer than any real one would be copied onto
		// every log line about the request and into the lead.
		reqID = newRequestID()
	}
	// The request's attributes go on each line it logs; most requests log
	// nothing below info, so no With (a handler clone) is made up front.
	attrs := []slog.Attr{slog.String("source", name), slog.String("request_id", reqID)}
	log := &reqLog{base: e.log, attrs: attrs}
	if e.draining.Load() {
		w.Header().Set("Connection", "close") // the listener closes once deliveries have drained
		return http.StatusServiceUnavailable, answer{Status: "error", Reason: "shutting down"}
	}
	// An address that is not allowed learns nothing else about the
	// endpoint (what it accepts, how large): 403 first, body unread.
	ip := providers.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), wr.trusted)
	if src.Allow != nil && !src.Allow(ip) {
		e.counters.reject(name)
		log.get().Warn("webhook rejected", "answer", 403, "reason", "source address not allowed", "remote_ip", ip.String())
		return http.StatusForbidden, answer{Status: "error", Reason: "address not allowed"}
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		e.counters.reject(name)
		log.get().Warn("webhook rejected", "answer", 415, "reason", "content type is not JSON")
		return http.StatusUnsupportedMediaType, answer{Status: "error", Reason: "content type must be application/json"}
	}
	if r.ContentLength > wr.maxBody {
		return e.tooLarge(log, name, wr.maxBody)
	}
	body, err := readBody(http.MaxBytesReader(w, r.Body, wr.maxBody), r.ContentLength)
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		return e.tooLarge(log, name, wr.maxBody)
	case errors.As(err, &netErr) && netErr.Timeout():
		log.get().Warn("webhook body not received in time", "err", err)
		w.Header().Set("Connection", "close")
		return http.StatusRequestTimeout, answer{Status: "error", Reason: "body not received in time"}
	case err != nil:
		log.get().Warn("webhook body unreadable", "err", err)
		return http.StatusBadRequest, answer{Status: "error", Reason: "body could not be read"}
	}
	req := &providers.Request{Source: name, Body: body, Header: r.Header, RemoteIP: ip,
		ReceivedAt: e.now().UTC(), RequestID: reqID}
	if err := src.Source.Verify(r.Context(), req); err != nil {
		return e.verifyFailed(log, name, err)
	}
	in := incoming(src.Source, req, wr, lead.ViaWebhook)
	res, err := e.commit(in)
	if err != nil {
		log.get().Error("commit failed; answering 503 so the provider retries", "err", err)
		return http.StatusServiceUnavailable, answer{Status: "error", Reason: "temporarily unavailable"}
	}
	e.committed(name, res, e.log, attrs, src.series)
	e.recon.learn(src, in)
	return http.StatusOK, summarize(res)
}

// commit stores in and hands its lead buffers (see itemOf) back to the
// pool: stored (copied) or not, nothing refers to them afterwards.
func (e *Engine) commit(in *state.Incoming) ([]state.Result, error) {
	res, err := e.o.Store.Commit(in)
	for i := range in.Items {
		jsonw.Recycle(in.Items[i].LeadJSON)
	}
	return res, err
}

func (e *Engine) tooLarge(log *reqLog, name string, max int64) (int, answer) {
	e.counters.reject(name)
	log.get().Warn("webhook rejected", "answer", 413, "reason", "body larger than max_body", "max_body", max)
	return http.StatusRequestEntityTooLarge, answer{Status: "error", Reason: "body too large"}
}

func (e *Engine) verifyFailed(log *reqLog, name string, err error) (int, answer) {
	switch {
	case errors.Is(err, providers.ErrUnavailable):
		log.get().Error("verification unavailable; answering 503 so the provider retries", "err", err)
		return http.StatusServiceUnavailable, answer{Status: "error", Reason: "temporarily unavailable"}
	case errors.Is(err, providers.ErrForbidden):
		e.counters.reject(name)
		log.get().Warn("webhook rejected", "answer", 403, "reason", err.Error())
		return http.StatusForbidden, answer{Status: "error", Reason: "forbidden"}
	default:
		e.counters.reject(name)
		log.get().Warn("webhook rejected", "answer", 401, "reason", err.Error())
		return http.StatusUnauthorized, answer{Status: "error", Reason: "invalid signature"}
	}
}

// incoming parses a verified request into what the store commits. A body the
// provider cannot map is quarantined whole, keyed by its hash, so that a
// retry of it is a duplicate and a replay after a mapping fix can find it.
func incoming(src providers.Source, req *providers.Request, wr *wiring, via string) *state.Incoming {
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
	for _, ev := range events {
		in.Items = append(in.Items, itemOf(ev, wr, via))
	}
	return in
}

// itemOf marshals an accepted event's lead and routes it.
func itemOf(ev lead.Event, wr *wiring, via string) state.Item {
	it := state.Item{Event: ev, Via: via}
	if ev.Status != lead.StatusAccepted || ev.Lead == nil {
		return it
	}
	if via != lead.ViaWebhook {
		ev.Lead.Source.Via = via
	}
	body, err := ev.Lead.MarshalPooled()
	if err != nil { // cannot happen for a Lead; keep the event rather than drop it
		it.Event.Status, it.Event.Reason = lead.StatusQuarantined, fmt.Sprintf("encode lead: %v", err)
		return it
	}
	it.LeadJSON = body
	it.Sinks = route(wr, ev.Lead)
	return it
}

// committed logs what became of each event and wakes the dispatchers of the
// sinks that got work. attrs are the request's attributes, put on each line;
// ss, if not nil, is the source's series in the wiring the request used.
// Lines are built as slog.Attrs (LogAttrs): no value is boxed in an
// interface, which showed in the profile of a line per lead.
func (e *Engine) committed(source string, res []state.Result, log *slog.Logger, attrs []slog.Attr, ss *sourceSeries) {
	ctx := context.Background()
	for _, r := range res {
		if ss != nil && r.Status == lead.StatusAccepted {
			ss.accepted.Inc()
		} else {
			e.metrics.events.WithLabelValues(source, r.Status).Inc()
		}
		if e.tail.active() {
			e.tail.publish(TailEvent{Time: e.now().UTC(), Kind: "event", Source: source, EventID: r.EventID,
				LeadID: r.LeadID, Status: r.Status, Reason: r.Reason, Sinks: r.Sinks})
		}
		var level slog.Level
		var msg string
		var extra slog.Attr
		switch r.Status {
		case lead.StatusAccepted:
			level, msg, extra = slog.LevelInfo, "lead accepted", slog.Int("sinks", len(r.Sinks))
			for _, s := range r.Sinks {
				if d := e.dispatcher(s); d != nil {
					d.poke()
				}
			}
		case lead.StatusDuplicate:
			level, msg = slog.LevelDebug, "duplicate event"
		case lead.StatusQuarantined:
			level, msg, extra = slog.LevelWarn, "event quarantined", slog.String("reason", r.Reason)
		default:
			level, msg, extra = slog.LevelInfo, "event "+r.Status, slog.String("reason", r.Reason)
		}
		if !log.Enabled(ctx, level) {
			continue
		}
		line := append(append(make([]slog.Attr, 0, len(attrs)+3), attrs...), slog.String("event_id", r.EventID))
		if r.LeadID != "" {
			line = append(line, slog.String("lead_id", r.LeadID))
		}
		if extra.Key != "" {
			line = append(line, extra)
		}
		log.LogAttrs(ctx, level, msg, line...)
	}
}

// reqLog is a request's logger, made on first use.
type reqLog struct {
	base  *slog.Logger
	attrs []slog.Attr
	l     *slog.Logger
}

func (r *reqLog) get() *slog.Logger {
	if r.l == nil {
		r.l = slog.New(r.base.Handler().WithAttrs(r.attrs))
	}
	return r.l
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

// keptHeaders are the request headers stored with the raw request, so that
// a replay maps exactly what arrived: all of them but credentials and
// connection details.
func keptHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		switch strings.ToLower(k) {
		case "authorization", "cookie", "proxy-authorization", "connection", "accept-encoding", "content-length":
			continue
		}
		out[strings.ToLower(k)] = strings.Join(v, ", ")
	}
	return out
}

// readBody reads all of r in one allocation when the length is announced
// (io.ReadAll grows its buffer two or three times for a typical webhook),
// up to bodyPrealloc: beyond it, the buffer grows as the bytes arrive, so
// that a sender who announces a large body and sends none pins no memory.
func readBody(r io.Reader, length int64) ([]byte, error) {
	if length <= 0 {
		return io.ReadAll(r)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(length, bodyPrealloc)) + bytes.MinRead) // ReadFrom wants MinRead free to read the EOF
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// bodyPrealloc bounds what readBody allocates on a sender's word.
const bodyPrealloc = 64 << 10

// maxRequestID is the longest X-Request-Id taken from a sender.
const maxRequestID = 128

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

// writeAnswer writes a webhook's answer: what writeJSON writes, by hand
// for the common one-event answer (see jsonw).
func writeAnswer(w http.ResponseWriter, code int, a *answer) {
	if len(a.Events) > 0 {
		writeJSON(w, code, a)
		return
	}
	o := jsonw.New(160)
	o.Str("status", a.Status)
	o.StrOmit("event_id", a.EventID)
	o.StrOmit("lead_id", a.LeadID)
	o.StrOmit("reason", a.Reason)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(o.Done(), '\n')) // json.Encoder ends with a newline
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
