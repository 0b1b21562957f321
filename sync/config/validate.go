package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"
)

// This file checks a decoded, defaulted Config: the rules that the types
// alone cannot express. Sinks and delivery are in validate_sinks.go.

// namePattern is what source and sink names must match: they become URL
// paths (/webhooks/<name>), bbolt bucket names and metric labels.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// maxNameLen keeps names readable in URLs, logs and metric labels.
const maxNameLen = 64

// checker reports validation problems at the line of the key they concern.
type checker struct {
	d *decoder
}

// errorf records a problem at path, unless decoding already failed there (or
// above), which would make this one a confusing echo of the first.
func (c *checker) errorf(path, format string, args ...any) {
	for p := path; ; p = parent(p) {
		if c.d.bad[p] {
			return
		}
		if p == "" {
			break
		}
	}
	c.d.errs.add(c.d.file, c.line(path), path, fmt.Sprintf(format, args...))
}

// line is the line of path, or of its nearest ancestor present in the file
// when the key itself is missing.
func (c *checker) line(path string) int {
	if l, ok := lineOf(c.d.seen, path); ok {
		return l
	}
	return 1
}

// validate checks the whole config.
func (c *checker) validate(cfg *Config) {
	c.listen("listen", cfg.Listen)
	c.oneOf("log.level", cfg.Log.Level, "debug", "info", "warn", "error")
	c.oneOf("log.format", cfg.Log.Format, "auto", "text", "json")
	for i, p := range cfg.TrustedProxies {
		c.ipOrCIDR(indexed("trusted_proxies", i), p, false)
	}
	if cfg.MaxBody <= 0 {
		c.errorf("max_body", "must be greater than 0")
	}
	if len(cfg.Sources) == 0 {
		c.errorf("sources", "at least one source is required")
	}
	names := map[string]string{}
	for i := range cfg.Sources {
		c.source(indexed("sources", i), &cfg.Sources[i], names)
	}
	c.delivery("delivery", cfg.Delivery)
	sinkNames := map[string]string{}
	for i := range cfg.Sinks {
		c.sink(indexed("sinks", i), &cfg.Sinks[i], sinkNames, cfg)
	}
}

// listen checks a host:port with a numeric port.
func (c *checker) listen(path, v string) {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		c.errorf(path, "must be host:port, e.g. 127.0.0.1:8080")
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		c.errorf(path, "port must be a number from 0 to 65535")
	}
}

// name checks a source or sink name and that it is unique among its kind.
func (c *checker) name(path, v string, seen map[string]string) {
	switch {
	case v == "":
		c.errorf(path, "is required")
	case len(v) > maxNameLen || !namePattern.MatchString(v):
		c.errorf(path, "must be lowercase letters, digits, - and _ (at most %d, starting with a letter or digit), not %q", maxNameLen, v)
	case seen[v] != "":
		c.errorf(path, "duplicate name %q (also %s)", v, seen[v])
	default:
		seen[v] = parent(path)
	}
}

// kind checks a provider or sink type against its key table.
func (c *checker) kind(path, v string, table map[string][]string) bool {
	if _, ok := table[v]; ok {
		return true
	}
	kinds := strings.Join(sortedKinds(table), ", ")
	if v == "" {
		c.errorf(path, "is required (one of %s)", kinds)
	} else {
		c.errorf(path, "must be one of %s%s", kinds, got(v))
	}
	return false
}

// source checks one entry of sources.
func (c *checker) source(path string, s *Source, names map[string]string) {
	c.name(path+".name", s.Name, names)
	if !c.kind(path+".provider", s.Provider, sourceKeys) {
		return
	}
	c.inapplicable(path, sourceType, "provider", s.Provider, sourceCommonKeys, sourceKeys)
	for i, ip := range s.AllowIPs {
		c.ipOrCIDR(indexed(path+".allow_ips", i), ip, true)
	}
	switch s.Provider {
	case ProviderHemnet:
		c.hemnet(path, s)
	case ProviderReapit:
		c.reapit(path, s)
	case ProviderRechat:
		c.rechat(path, s)
	case ProviderGeneric:
		c.generic(path, s)
	}
}

func (c *checker) hemnet(path string, s *Source) {
	if len(s.Keys) == 0 {
		c.errorf(path+".keys", "at least one key is required")
	}
	c.secrets(path+".keys", s.Keys)
}

func (c *checker) reapit(path string, s *Source) {
	sig := path + ".signature"
	switch {
	case c.d.seen[sig].kind != 0 && c.d.seen[sig].kind != yaml.ScalarNode:
		c.errorf(sig, "must be one of ed25519, legacy, any")
	case !slices.Contains([]string{SchemeEd25519, SchemeLegacy, SchemeAny}, s.Signature.Scheme):
		c.errorf(sig, "must be one of ed25519, legacy, any%s", got(s.Signature.Scheme))
	}
	scheme := s.Signature.Scheme
	if (scheme == SchemeLegacy || scheme == SchemeAny) && !s.ClientID.IsSet() {
		c.errorf(path+".client_id", "is required by signature %s", scheme)
	}
	canFetch := s.ClientID.IsSet() && s.ClientSecret.IsSet()
	if (scheme == SchemeEd25519 || scheme == SchemeAny) && len(s.PublicKeys) == 0 && !canFetch {
		c.errorf(sig, "%s needs public_keys, or client_id and client_secret to fetch them", scheme)
	}
	for kid, key := range s.PublicKeys {
		c.ed25519Key(path+".public_keys."+kid, kid, key)
	}
	c.nonEmpty(path+".customers", s.Customers)
	c.topics(path+".topics", s.Provider, s.Topics)
	c.httpURL(path+".api_url", s.APIURL)
	c.httpURL(path+".token_url", s.TokenURL)
	if r := s.Reconcile; r != nil {
		c.reconcile(path+".reconcile", r, canFetch)
	}
}

func (c *checker) reconcile(path string, r *Reconcile, canFetch bool) {
	if r.Schedule == "" {
		c.errorf(path+".schedule", "is required")
	} else if sched, err := cron.ParseStandard(r.Schedule); err != nil {
		c.errorf(path+".schedule", "%v", err)
	} else if d := runGap(sched); d < minReconcileEvery {
		// "@every 0s" (or negative, or prefixed with a time zone) is run
		// every second by the cron library: a poll loop against the
		// provider's rate limit.
		c.errorf(path+".schedule", "runs every %s: too often, at least %s", d, minReconcileEvery)
	}
	if !canFetch {
		c.errorf(path, "needs client_id and client_secret to call the API")
	}
}

// minReconcileEvery is the shortest @every a reconcile schedule may have
// (a cron spec runs at most once a minute anyway; @every may ask for less).
const minReconcileEvery = time.Minute

// runGap is the time between two consecutive runs of sched.
func runGap(sched cron.Schedule) time.Duration {
	first := sched.Next(time.Date(2026, 1, 5, 0, 0, 30, 0, time.UTC))
	return sched.Next(first).Sub(first)
}

func (c *checker) ed25519Key(path, kid, key string) {
	if kid == "" {
		c.errorf(path, "kid must not be empty")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(key, "="))
	if err != nil || len(b) != 32 {
		c.errorf(path, "must be a base64url Ed25519 public key (32 bytes)")
	}
}

func (c *checker) rechat(path string, s *Source) {
	k := s.Key.Reveal()
	switch b, err := hex.DecodeString(k); {
	case !s.Key.IsSet():
		c.errorf(path+".key", "is required")
	case !s.Key.known():
	case err != nil || len(b) != 32:
		c.errorf(path+".key", "must be 64 hexadecimal characters")
	}
	// keys: the other brand webhooks' keys (one per topic), or the next key.
	for i, k := range s.Keys {
		if b, err := hex.DecodeString(k.Reveal()); k.known() && (err != nil || len(b) != 32) {
			c.errorf(indexed(path+".keys", i), "must be 64 hexadecimal characters")
		}
	}
	c.topics(path+".topics", s.Provider, s.Topics)
}

// topics checks an explicit topic list: empty would accept nothing, and a
// misspelt topic would have every webhook of the one meant answered
// "ignored" (Reapit does not send them again), so a topic one or two edits
// away from one the provider documents is refused with that one suggested.
// (One far from all is let through with a warning: providers add topics.)
func (c *checker) topics(path, provider string, topics []string) {
	if c.d.isSet(path) && len(topics) == 0 {
		c.errorf(path, "must list at least one topic (leave it out for the default)")
	}
	c.nonEmpty(path, topics)
	d := topicsOf(provider)
	for i, t := range topics {
		if documented, hint := d.check(t); !documented && hint != "" {
			c.errorf(indexed(path, i), "%q is not a %s topic%s", t, d.name, hint)
		}
	}
}

// documentedTopics are the topics a provider documents: name is how
// messages call the provider, fold says topics compare without case and
// surrounding spaces (as the Rechat source compares them).
type documentedTopics struct {
	name  string
	known []string
	fold  bool
}

// topicsOf is what provider documents; known is nil for a provider without
// topics.
func topicsOf(provider string) documentedTopics {
	switch provider {
	case ProviderReapit:
		return documentedTopics{name: "Reapit", known: reapitTopics}
	case ProviderRechat:
		return documentedTopics{name: "Rechat", known: rechatTopics, fold: true}
	}
	return documentedTopics{}
}

// check reports whether t is documented (an empty t counts: nonEmpty
// reports it), and if not, the ` (did you mean "x"?)` of the documented
// topic it is a letter or two away from, if any.
func (d documentedTopics) check(t string) (documented bool, hint string) {
	norm := func(s string) string { return s }
	if d.fold {
		norm = func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
	}
	t = norm(t)
	names := make(map[string]int, len(d.known))
	spelling := make(map[string]string, len(d.known))
	for _, k := range d.known {
		if norm(k) == t || t == "" {
			return true, ""
		}
		names[norm(k)], spelling[norm(k)] = 0, k
	}
	if best := closest(t, names); best != "" {
		return false, fmt.Sprintf(" (did you mean %q?)", spelling[best])
	}
	return false, ""
}

// reapitTopics are the topicIds Reapit documents (its webhooks guide, in
// the repo's seeds). Only applicants.created and applicants.modified map to
// leads; another listed topic's events are kept quarantined, for a replay.
var reapitTopics = []string{
	"application.install", "application.uninstall",
	"applicants.created", "applicants.modified",
	"appointments.cancelled", "appointments.confirmed", "appointments.created", "appointments.modified",
	"companies.created", "companies.modified",
	"contacts.created", "contacts.modified", "contacts.optedout",
	"conveyancing.modified",
	"documents.created", "documents.modified",
	"enquiries.accepted", "enquiries.created", "enquiries.modified", "enquiries.rejected",
	"identitychecks.created", "identitychecks.modified",
	"landlords.created", "landlords.modified",
	"offers.accepted", "offers.created", "offers.modified", "offers.rejected", "offers.withdrawn",
	"offices.created", "offices.modified",
	"properties.created", "properties.modified", "properties.selling.askingpricechanged",
	"properties.selling.completed", "properties.selling.exchanged", "properties.selling.withdrawn",
	"properties.selling.instructed", "properties.selling.lostinstruction", "properties.selling.underoffer",
	"tenancies.created", "tenancies.modified",
	"vendors.created", "vendors.modified",
	"worksorders.cancelled", "worksorders.complete", "worksorders.modified", "worksorders.raised",
}

// rechatTopics are Rechat's brand webhook topics.
var rechatTopics = []string{"Contacts", "Showings", "Deals"}
