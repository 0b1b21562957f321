package sync

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/providers/generic"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/providers/reapit"
	"github.com/leadsync/leadsync/providers/rechat"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"
	"github.com/leadsync/leadsync/sinks/file"
	"github.com/leadsync/leadsync/sinks/hubspot"
	"github.com/leadsync/leadsync/sinks/pipedrive"
	rechatsink "github.com/leadsync/leadsync/sinks/rechat"
	"github.com/leadsync/leadsync/sinks/salesforce"
	"github.com/leadsync/leadsync/sinks/webhook"
	"github.com/leadsync/leadsync/state"
	"github.com/leadsync/leadsync/sync/config"
)

// The wiring tables: a closed set of adapters reads better wired by hand than
// registered in init(). A provider or sink type that the config schema knows
// but this build does not is refused by name, so `leadsync check` says so.
var (
	sourceBuilders = map[string]func(config.Source, env) (providers.Source, error){
		"hemnet":  buildHemnet,
		"reapit":  buildReapit,
		"rechat":  buildRechat,
		"generic": buildGeneric,
	}
	sinkBuilders = map[string]func(config.Sink, *slog.Logger) (sinks.Sink, error){
		"webhook":    buildWebhook,
		"file":       buildFile,
		"email":      buildEmail,
		"rechat":     buildRechatSink,
		"hubspot":    buildHubSpot,
		"pipedrive":  buildPipedrive,
		"salesforce": buildSalesforce,
	}
)

// env is what builders may use beyond their config entry.
type env struct {
	log   *slog.Logger
	store *state.Store // nil for a dry run (check)
}

func buildReapit(c config.Source, e env) (providers.Source, error) {
	rc := reapit.Config{Name: c.Name, ClientID: c.ClientID.Reveal(), ClientSecret: c.ClientSecret.Reveal(),
		Signature: c.Signature.Scheme, PublicKeys: c.PublicKeys, Customers: c.Customers, Topics: c.Topics,
		APIURL: c.APIURL, TokenURL: c.TokenURL, MaxClockSkew: defaultSkew, Logger: e.log}
	if c.MaxClockSkew != nil {
		rc.MaxClockSkew = c.MaxClockSkew.D()
	}
	if e.store != nil {
		rc.KeyCache = e.store.KeyCache(c.Name)
	}
	return reapit.New(rc)
}

func buildRechat(c config.Source, _ env) (providers.Source, error) {
	extra := make([]string, 0, len(c.Keys))
	for _, k := range c.Keys {
		extra = append(extra, k.Reveal())
	}
	return rechat.New(rechat.Config{Name: c.Name, Key: c.Key.Reveal(), ExtraKeys: extra, Topics: c.Topics})
}

// genericConfig maps a config entry to the generic provider's config; with
// secrets false it leaves them out (for a dry run that must not need them).
func genericConfig(c config.Source, secrets bool) (generic.Config, error) {
	sig := c.Signature
	gc := generic.Config{Name: c.Name, Header: sig.Header, Prefix: sig.Prefix, Encoding: sig.Encoding,
		Algorithm: sig.Algorithm, Signed: sig.Signed, TimestampHeader: sig.TimestampHeader,
		TimestampUnit: sig.TimestampUnit, IDHeader: sig.IDHeader,
		EventID: c.EventID, EventTime: c.EventTime, Type: c.Type, Types: c.Types, Each: c.Each, Fields: c.Fields}
	// The config's defaults give a signature with a timestamp the default
	// window, and one without none.
	if c.MaxClockSkew != nil {
		gc.MaxClockSkew = c.MaxClockSkew.D()
	}
	if !secrets {
		return gc, nil
	}
	var all []string
	for _, s := range sig.AllSecrets() {
		all = append(all, s.Reveal())
	}
	if sig.Scheme == config.SchemeStandardWebhooks {
		return generic.StandardWebhooks(gc, all...)
	}
	for _, s := range all {
		gc.Secrets = append(gc.Secrets, []byte(s))
	}
	return gc, nil
}

func buildGeneric(c config.Source, _ env) (providers.Source, error) {
	gc, err := genericConfig(c, true)
	if err != nil {
		return nil, err
	}
	return generic.New(gc)
}

func buildHemnet(c config.Source, _ env) (providers.Source, error) {
	keys := make([][]byte, 0, len(c.Keys))
	for _, k := range c.Keys {
		keys = append(keys, []byte(k.Reveal()))
	}
	skew := defaultSkew
	if c.MaxClockSkew != nil {
		skew = c.MaxClockSkew.D()
	}
	return hemnet.New(hemnet.Config{Name: c.Name, Keys: keys, MaxClockSkew: skew})
}

func buildWebhook(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	h := make(map[string]string, len(c.Headers))
	for k, v := range c.Headers {
		h[k] = v.Reveal()
	}
	return webhook.New(webhook.Config{Name: c.Name, URL: c.URL, Secret: c.Secret.Reveal(), Headers: h,
		Timeout: c.Effective.Timeout.D(), MaxRetryWait: c.Effective.Backoff.Max.D(), Logger: log})
}

func buildEmail(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	return email.New(email.Config{Name: c.Name, Host: c.Host, Port: c.Port, TLS: c.TLS,
		Username: c.Username.Reveal(), Password: c.Password.Reveal(), From: c.From, To: c.To, ToAgent: c.ToAgent,
		Subject: c.Subject, TextTemplate: c.TextTemplate, HTMLTemplate: c.HTMLTemplate,
		Timeout: c.Effective.Timeout.D(), Logger: log})
}

func buildRechatSink(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	return rechatsink.New(rechatsink.Config{Name: c.Name, APIURL: c.APIURL, Channel: c.Channel.Reveal(),
		LeadSource: c.LeadSource, SourceType: c.SourceType, Tags: c.Tags,
		Timeout: c.Effective.Timeout.D(), MaxRetryWait: c.Effective.Backoff.Max.D(), Logger: log})
}

func buildHubSpot(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	return hubspot.New(hubspot.Config{Name: c.Name, Token: c.Token.Reveal(), APIURL: c.APIURL,
		Properties: c.Properties, Constants: c.Constants,
		Timeout: c.Effective.Timeout.D(), MaxRetryWait: c.Effective.Backoff.Max.D(), Logger: log})
}

func buildPipedrive(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	return pipedrive.New(pipedrive.Config{Name: c.Name, Token: c.Token.Reveal(), APIURL: c.APIURL,
		Properties: c.Properties, Constants: c.Constants,
		Timeout: c.Effective.Timeout.D(), MaxRetryWait: c.Effective.Backoff.Max.D(), Logger: log})
}

func buildSalesforce(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	return salesforce.New(salesforce.Config{Name: c.Name, InstanceURL: c.InstanceURL, ClientID: c.ClientID.Reveal(),
		ClientSecret: c.ClientSecret.Reveal(), ExternalIDField: c.ExternalIDField,
		Properties: c.Properties, Constants: c.Constants, APIVersion: c.APIVersion,
		DefaultLastName: c.DefaultLastName, DefaultCompany: c.DefaultCompany,
		Timeout: c.Effective.Timeout.D(), MaxRetryWait: c.Effective.Backoff.Max.D(), Logger: log})
}

func buildFile(c config.Sink, log *slog.Logger) (sinks.Sink, error) {
	return file.New(file.Config{Name: c.Name, Path: c.Path, Logger: log})
}

// Built is what Build makes from a config: every source and sink, ready for
// New. Close releases the sinks if they are not handed to an engine.
type Built struct {
	Sources        []SourceSpec
	Sinks          []SinkSpec
	TrustedProxies []netip.Prefix
}

// Close closes every sink.
func (b *Built) Close() error {
	var errs []error
	for _, s := range b.Sinks {
		if err := s.Sink.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close sink %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Build constructs every source and sink of cfg. It gathers every error into
// a *config.Errors, each at its key's line, so that serve and a reload
// report them all at once as check does. Nothing is left open on error. st
// backs what sources cache (signing keys).
func Build(cfg *config.Config, log *slog.Logger, st *state.Store) (*Built, error) {
	b := &Built{}
	errs := problems{cfg: cfg}
	for i, sc := range cfg.Sources {
		if cfg.Demo && sourceBuilders[sc.Provider] == nil {
			// The demo lists every provider SPEC.md names; one this build
			// cannot run yet is left out rather than failing the demo.
			log.Warn("demo: provider not supported by this build; source skipped", "source", sc.Name, "provider", sc.Provider)
			continue
		}
		spec, err := buildSource(sc, env{log: log.With("source", sc.Name), store: st})
		if err != nil {
			errs.add(fmt.Sprintf("sources[%d]", i), err)
			continue
		}
		b.Sources = append(b.Sources, spec)
	}
	for i, sc := range cfg.Sinks {
		build := sinkBuilders[sc.Type]
		if build == nil {
			errs.add(fmt.Sprintf("sinks[%d]", i), unsupportedSink(sc.Type))
			continue
		}
		s, err := build(sc, log) // each sink names itself in its log lines
		if err != nil {
			errs.add(fmt.Sprintf("sinks[%d]", i), err)
			continue
		}
		b.Sinks = append(b.Sinks, SinkSpec{Name: sc.Name, Type: sc.Type, Sink: s, Match: matchOf(sc.Match), Delivery: policyOf(sc.Effective)})
	}
	tp, err := providers.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		errs.add("trusted_proxies", err)
	}
	b.TrustedProxies = tp
	if err := errs.err(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func buildSource(sc config.Source, e env) (SourceSpec, error) {
	build := sourceBuilders[sc.Provider]
	if build == nil {
		return SourceSpec{}, fmt.Errorf("provider: %q is not supported by this build (supported: %s)", sc.Provider, keys(sourceBuilders))
	}
	src, err := build(sc, e)
	if err != nil {
		return SourceSpec{}, err
	}
	// A manual `leadsync reconcile` may poll a source that has no schedule:
	// it re-reads the default overlap before its cursor all the same.
	spec := SourceSpec{Source: src, Overlap: config.DefaultOverlap.D()}
	if sc.Reconcile != nil && sc.Reconcile.Schedule != "" {
		if _, ok := src.(providers.Poller); !ok {
			return SourceSpec{}, fmt.Errorf("reconcile: provider %q cannot be polled", sc.Provider)
		}
		spec.Reconcile, spec.Overlap = sc.Reconcile.Schedule, sc.Reconcile.Overlap.D()
	}
	if len(sc.AllowIPs) > 0 {
		al, err := providers.ParseAllowlist(sc.AllowIPs)
		if err != nil {
			return SourceSpec{}, fmt.Errorf("allow_ips: %w", err)
		}
		spec.Allow = al.Allows
	}
	return spec, nil
}

func policyOf(d config.Delivery) Policy {
	return Policy{Concurrency: d.Concurrency, Timeout: d.Timeout.D(), BackoffInitial: d.Backoff.Initial.D(),
		BackoffMax: d.Backoff.Max.D(), MaxAttempts: d.MaxAttempts, MaxAge: d.MaxAge.D()}
}

func keys[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// defaultSkew is the timestamp window of a Hemnet or Reapit source when the
// config sets none.
const defaultSkew = 10 * time.Minute

// CheckSupported reports, without building anything, every source provider
// and sink type of cfg that this build cannot run, and every problem their
// own checks find (a generic source's pointers, a CRM sink's field mapping),
// as Build reports them.
func CheckSupported(cfg *config.Config) error {
	errs := problems{cfg: cfg}
	for i, s := range cfg.Sources {
		// Source constructors do no I/O: building one runs the provider's
		// own checks (e.g. a generic source's pointers and field names).
		if _, err := buildSource(s, env{log: slog.New(slog.DiscardHandler)}); err != nil {
			errs.add(fmt.Sprintf("sources[%d]", i), err)
		}
	}
	for i, s := range cfg.Sinks {
		build := sinkBuilders[s.Type]
		switch {
		case build == nil:
			errs.add(fmt.Sprintf("sinks[%d]", i), unsupportedSink(s.Type))
			continue
		case s.Type == config.SinkFile:
			continue // building it would create the file
		}
		// The other constructors do no I/O: building runs each sink's own
		// checks (e.g. a CRM's field mapping).
		sk, err := build(s, slog.New(slog.DiscardHandler))
		if err != nil {
			errs.add(fmt.Sprintf("sinks[%d]", i), err)
			continue
		}
		sk.Close()
	}
	return errs.err()
}

func unsupportedSink(typ string) error {
	return fmt.Errorf("type: %q is not supported by this build (supported: %s)", typ, keys(sinkBuilders))
}

// problems gathers what the builders refuse as a *config.Errors, each
// located at its key's line as Load locates its own.
type problems struct {
	cfg  *config.Config
	errs config.Errors
}

// add records err (each error it joins) of the entry at base
// ("sources[2]"). A builder names the key it refuses first ("fields.emale:
// unknown field"): the message is located there.
func (p *problems) add(base string, err error) {
	for _, e := range leaves(err) {
		path, msg := base, e.Error()
		if k, rest, ok := strings.Cut(msg, ": "); ok && keyPath.MatchString(k) {
			path, msg = base+"."+k, rest
		}
		p.errs = append(p.errs, p.cfg.Problem(path, msg))
	}
}

// err is what was gathered, in the file's order, or nil.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	p.errs.Sort()
	return &p.errs
}

// keyPath is a config key path as a builder's message starts with it:
// external_id_field, fields.email, properties, signature.secrets[1] (a map
// key below the first may have capitals and hyphens: fields.Email).
var keyPath = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_-]+|\[[0-9]+\])*$`)

// leaves splits an errors.Join (at any depth) into the errors it joined.
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leaves(e)...)
		}
		return out
	}
	return []error{err}
}

// BuildSource builds one configured source on its own (for send-test).
func BuildSource(c config.Source) (providers.Source, error) {
	spec, err := buildSource(c, env{log: slog.New(slog.DiscardHandler)})
	return spec.Source, err
}
