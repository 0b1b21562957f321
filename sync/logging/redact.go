package logging

import (
	"context"
	"log/slog"

	"github.com/leadsync/leadsync/sync/lead"
)

// Redacted replaces the value of every attribute that carries personal data:
// one whose key, at any group depth, is email, phone, first_name, last_name,
// full_name, name, message, street, address or person; every attribute inside
// a group (or WithGroup) of such a name; and any lead.Lead, lead.Person,
// lead.Address or lead.Agent value, whatever its key. Keys are matched
// exactly, so they must be snake_case (event_id, lead_id, sink, attempt and
// the like pass through untouched).
const Redacted = "[redacted]"

// sensitive reports whether an attribute or group named key holds personal
// data. A switch on strings compiles to length-then-compare: no allocation.
func sensitive(key string) bool {
	switch key {
	case "email", "phone", "first_name", "last_name", "full_name", "name",
		"message", "street", "address", "person":
		return true
	}
	return false
}

// personal reports whether v is one of the lead types made of personal data.
func personal(v slog.Value) bool {
	if v.Kind() != slog.KindAny {
		return false
	}
	switch v.Any().(type) {
	case lead.Lead, *lead.Lead, lead.Person, *lead.Person,
		lead.Address, *lead.Address, lead.Agent, *lead.Agent:
		return true
	}
	return false
}

// redactor is a slog.Handler that masks personal data before the wrapped
// handler sees it. Records with nothing to mask are passed on as they are,
// so the common path costs a scan and no allocation.
//
// Whether masking applies is decided per record from the live level, so a
// reload from debug back to info masks again at once. Attributes bound with
// WithAttrs are therefore kept in two chains when masking can be turned
// off: inner got them masked, plain got them as given.
type redactor struct {
	inner slog.Handler // masked chain
	plain slog.Handler // unmasked chain; nil when Options.Redact is true
	level slog.Leveler
	all   bool // under a WithGroup whose name is sensitive: mask everything
}

func newRedactor(h slog.Handler, level slog.Leveler, redact bool) *redactor {
	r := &redactor{inner: h, level: level}
	if !redact {
		r.plain = h
	}
	return r
}

// masking reports whether personal data must be masked right now.
func (h *redactor) masking() bool {
	return h.plain == nil || h.level.Level() > slog.LevelDebug
}

// Enabled implements slog.Handler; both chains share one level.
func (h *redactor) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *redactor) Handle(ctx context.Context, r slog.Record) error {
	if !h.masking() {
		return h.plain.Handle(ctx, r)
	}
	found := h.all && r.NumAttrs() > 0
	if !found {
		r.Attrs(func(a slog.Attr) bool {
			found = needs(a)
			return !found
		})
	}
	if !found {
		return h.inner.Handle(ctx, r)
	}
	masked := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		masked.AddAttrs(redact(a, h.all))
		return true
	})
	return h.inner.Handle(ctx, masked)
}

// WithAttrs implements slog.Handler.
func (h *redactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	masked := attrs
	if h.all || anyNeeds(attrs) {
		masked = make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			masked[i] = redact(a, h.all)
		}
	}
	h2.inner = h.inner.WithAttrs(masked)
	if h.plain != nil {
		h2.plain = h.plain.WithAttrs(attrs)
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *redactor) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.inner = h.inner.WithGroup(name)
	if h.plain != nil {
		h2.plain = h.plain.WithGroup(name)
	}
	h2.all = h.all || sensitive(name)
	return &h2
}

func anyNeeds(attrs []slog.Attr) bool {
	for _, a := range attrs {
		if needs(a) {
			return true
		}
	}
	return false
}

// needs reports whether a holds personal data anywhere inside it. A
// LogValuer is resolved to look inside; the handler resolves it again later,
// which LogValue implementations must tolerate anyway.
func needs(a slog.Attr) bool {
	if sensitive(a.Key) {
		return true
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		return anyNeeds(v.Group())
	case slog.KindAny:
		return personal(v)
	}
	return false
}

// redact returns a with personal data masked; all masks every keyed value.
// An inline group (empty key) is descended into rather than masked whole,
// since handlers drop an attribute with an empty key.
func redact(a slog.Attr, all bool) slog.Attr {
	v := a.Value.Resolve()
	if (all && a.Key != "") || sensitive(a.Key) || personal(v) {
		return slog.String(a.Key, Redacted)
	}
	if v.Kind() != slog.KindGroup {
		return slog.Attr{Key: a.Key, Value: v}
	}
	g := v.Group()
	out := make([]slog.Attr, len(g))
	for i, ga := range g {
		out[i] = redact(ga, all)
	}
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
}
