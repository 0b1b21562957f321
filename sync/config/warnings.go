package config

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// minSafeRetention is the retention below which Warnings speaks: providers
// retry a webhook for up to a day (Reapit ~33 minutes, generic senders ~17
// hours), and an event's dedupe record goes with the retention.
const minSafeRetention = 48 * time.Hour

// maxSocketPath is the longest path a Unix socket can bind to on Linux
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// Warnings lists what is allowed but probably not meant, for the daemon and
// `leadsync check` to print. A config with warnings still loads. Running the
// demo is not among them: Config.Demo says so, and the caller announces it.
func (c *Config) Warnings() []string {
	var w []string
	if len(c.Sinks) == 0 {
		w = append(w, "no sinks configured: leads are stored but delivered nowhere")
	}
	for _, s := range c.Sources {
		if len(c.Sinks) > 0 && !slices.ContainsFunc(c.Sinks, func(k Sink) bool { return k.Match.matchesSource(s.Name) }) {
			w = append(w, fmt.Sprintf("source %s: no sink matches it, so its leads are stored but delivered nowhere", s.Name))
		}
	}
	for i, s := range c.Sources {
		d := topicsOf(s.Provider)
		for j, t := range s.Topics {
			// A near miss is an error (see checker.topics); one far from all
			// may be a topic added since this build.
			if documented, hint := d.check(t); d.known != nil && !documented && hint == "" {
				w = append(w, fmt.Sprintf("sources[%d].topics[%d]: %q is not a topic %s documents (as this build knows them); check its spelling",
					i, j, t, d.name))
			}
		}
	}
	for i, s := range c.Sinks {
		// Accepted by earlier builds, so an upgraded config still starts.
		if s.Type == SinkRechat && s.Token.IsSet() {
			w = append(w, fmt.Sprintf("sinks[%d].token: not used by a rechat sink (the lead channel id is its credential): remove it", i))
		}
		if s.Type == SinkFile && s.Path != "" {
			if problem := unwritable(s.Path); problem != "" {
				w = append(w, fmt.Sprintf("sinks[%d].path: %s for this user; the daemon's user must be able to write it (until then the sink's leads wait in its outbox)",
					i, problem))
			}
		}
	}
	if r := c.Retention.D(); r > 0 && r < minSafeRetention {
		w = append(w, fmt.Sprintf("retention: %s is shorter than %s: a provider's retry (or a reconcile backfill) of an event pruned by then is taken as new and delivered again",
			r, minSafeRetention))
	}
	if c.Log.Redact != nil && !*c.Log.Redact && c.Log.Level != "debug" {
		w = append(w, "log.redact: false takes effect only at log.level debug")
	}
	if len(c.AdminSocket) > maxSocketPath {
		w = append(w, fmt.Sprintf("admin_socket: %s is longer than %d bytes, too long for a Unix socket; the admin socket will not start",
			c.AdminSocket, maxSocketPath))
	}
	if c.worldReadable && c.hasInlineSecret() {
		w = append(w, fmt.Sprintf("%s holds inline secrets and is readable by every user: chmod o-r it, or use {credential: NAME}", c.Path))
	}
	return w
}

// matchesSource reports whether some lead of source can match.
func (m *Match) matchesSource(source string) bool {
	return m == nil || len(m.Sources) == 0 || slices.Contains(m.Sources, source)
}

// hasInlineSecret reports whether any Secret in c was written in the file.
func (c *Config) hasInlineSecret() bool {
	found := false
	eachSecret(reflect.ValueOf(c).Elem(), func(s Secret) {
		found = found || s.Source() == "inline"
	})
	return found
}

// eachSecret calls fn for every Secret reachable from v through exported
// fields, slices, maps and pointers.
func eachSecret(v reflect.Value, fn func(Secret)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			eachSecret(v.Elem(), fn)
		}
	case reflect.Struct:
		if v.Type() == secretType {
			fn(v.Interface().(Secret))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				eachSecret(v.Field(i), fn)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			eachSecret(v.Index(i), fn)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			eachSecret(it.Value(), fn)
		}
	}
}
