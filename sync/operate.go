package sync

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/lead"
)

// Erase removes a person (by email and/or phone) from the store — events,
// raw requests, leads, outbox and dead letters, then rewrites the file so
// that no freed page keeps their bytes — and from every sink that keeps
// leads itself (the JSONL file), and from the files of file sinks since
// removed from the config. Dedupe records stay, so a provider's retry
// does not re-create the lead. It returns counts by place.
func (e *Engine) Erase(email, phone string) (map[string]int, error) {
	match, err := state.PersonMatcher(email, phone)
	if err != nil {
		return nil, err
	}
	// A failure in one place does not stop the others: what can be erased
	// is, and the error says where it could not be.
	var errs []error
	counts, err := e.o.Store.Erase(email, phone)
	if err != nil {
		errs = append(errs, fmt.Errorf("erase from the store: %w", err))
	}
	if counts == nil {
		counts = map[string]int{}
	}
	var current []os.FileInfo // the files of configured file sinks
	for _, s := range e.wiring.Load().sinks {
		if er, ok := s.Sink.(sinks.Eraser); ok {
			n, err := er.Erase(match)
			counts["sink "+s.Name] = n
			if err != nil {
				errs = append(errs, fmt.Errorf("erase from sink %s: %w", s.Name, err))
			}
		}
		if f, ok := s.Sink.(fileSink); ok {
			if fi, err := os.Stat(f.Path()); err == nil {
				current = append(current, fi)
			}
		}
	}
	// The files of file sinks since removed from the config still hold
	// their leads.
	files, err := e.o.Store.Files()
	if err != nil {
		errs = append(errs, fmt.Errorf("erase: list the files of removed sinks: %w", err))
	}
	for _, p := range files {
		// The same file as a configured sink's, however its path is
		// spelt (a symlink, ..): that sink erased it, under its lock.
		if fi, err := os.Stat(p); err == nil && slices.ContainsFunc(current, func(c os.FileInfo) bool { return os.SameFile(c, fi) }) {
			continue
		}
		n, err := eraseFile(p, match, e.log)
		if n > 0 || err != nil {
			counts["file "+p] = n
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("erase from %s: %w", p, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		e.log.Error("person erased only in part", "counts", fmt.Sprint(counts), "err", err)
		return counts, err
	}
	e.log.Info("person erased", "counts", fmt.Sprint(counts)) // counts only: nothing that names them
	return counts, nil
}

// ReplayResult is what replay did with one event.
type ReplayResult struct {
	EventID string   `json:"event_id"`
	LeadID  string   `json:"lead_id,omitempty"`
	Source  string   `json:"source"`
	Status  string   `json:"status"` // replayed | unchanged | quarantined | ignored | stale | skipped
	Reason  string   `json:"reason,omitempty"`
	Sinks   []string `json:"sinks,omitempty"`
}

// Replay re-maps stored raw requests with the current mapping (after a fix)
// and queues what changed: the events named by eventIDs, or every request of
// source ("" = all) received since since. Requests are not verified again
// (they were when they arrived); a lead whose mapping did not change is left
// alone; a changed one is queued for its sinks under a new delivery id.
func (e *Engine) Replay(eventIDs []string, since time.Time, source string) ([]ReplayResult, error) {
	var raws []state.RawRequest
	if len(eventIDs) > 0 {
		seen := map[string]bool{}
		for _, id := range eventIDs {
			r, err := e.o.Store.RawByEvent(id)
			if err != nil {
				return nil, err // it names the event
			}
			if !seen[string(r.Key)] {
				seen[string(r.Key)] = true
				raws = append(raws, r)
			}
		}
	} else {
		if since.IsZero() {
			return nil, errors.New("replay: name event ids or a --since time")
		}
		if source != "" && e.wiring.Load().sources[source] == nil {
			return nil, fmt.Errorf("replay: no source %q is configured (replay maps with a configured source)", source)
		}
		err := e.o.Store.Raw(since, source, func(_ []byte, r state.RawRequest, _ []state.EventInfo) error {
			raws = append(raws, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []ReplayResult
	for _, r := range raws {
		res, err := e.replayOne(r)
		if err != nil {
			return out, err
		}
		out = append(out, res...)
	}
	e.pokeAll()
	return out, nil
}

func (e *Engine) replayOne(r state.RawRequest) ([]ReplayResult, error) {
	w := e.wiring.Load()
	spec := w.sources[r.Source]
	if spec == nil {
		return []ReplayResult{{Source: r.Source, Status: "skipped", Reason: "source no longer configured"}}, nil
	}
	if r.Header["x-leadsync-via"] == lead.ViaReconcile {
		return []ReplayResult{{Source: r.Source, Status: "skipped", Reason: "a polled page: run reconcile --since instead"}}, nil
	}
	h := http.Header{}
	for k, v := range r.Header {
		h.Set(k, v)
	}
	ip, _ := netip.ParseAddr(r.RemoteIP)
	req := &providers.Request{Source: r.Source, Body: r.Body, Header: h, RemoteIP: ip,
		ReceivedAt: time.Unix(0, r.Received).UTC(), RequestID: r.RequestID}
	in := incoming(spec.Source, req, w, lead.ViaReplay)
	in.Raw = r
	res, err := e.o.Store.Replay(in)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	out := make([]ReplayResult, 0, len(res))
	for _, x := range res {
		out = append(out, ReplayResult{EventID: x.EventID, LeadID: x.LeadID, Source: r.Source, Status: x.Status,
			Reason: x.Reason, Sinks: x.Sinks})
	}
	return out, nil
}

// prune deletes what retention no longer keeps, in small transactions.
func (e *Engine) prune(retention time.Duration) {
	if retention <= 0 {
		return
	}
	counts, err := e.o.Store.Prune(e.now().Add(-retention), 500)
	if err != nil {
		e.log.Error("retention prune", "err", err)
		return
	}
	var parts []string
	for k, v := range counts {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
	}
	if len(parts) > 0 {
		e.log.Info("retention: pruned", "older_than", retention.String(), "counts", strings.Join(parts, " "))
	}
}

// eraseFile erases match's leads from the JSONL file at path, once a file
// sink's: a file no longer there has nothing to erase.
func eraseFile(path string, match func([]byte) bool, log *slog.Logger) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	f, err := file.New(file.Config{Name: "(removed)", Path: path, Logger: log})
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Erase(match)
}
