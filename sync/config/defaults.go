package config

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Defaults that are not derived from the environment.
const (
	DefaultListen   = "127.0.0.1:8080"
	DefaultStateDir = "./leadsync-data"
	DefaultMaxBody  = ByteSize(1 << 20)

	DefaultRetention    = Duration(720 * time.Hour)
	DefaultDrain        = Duration(10 * time.Second)
	DefaultMaxClockSkew = Duration(10 * time.Minute)
	DefaultOverlap      = Duration(10 * time.Minute)

	DefaultReapitAPIURL   = "https://platform.reapit.cloud"
	DefaultReapitTokenURL = "https://connect.reapit.cloud/token"
	DefaultHubSpotAPIURL  = "https://api.hubapi.com"
	DefaultPipedriveURL   = "https://api.pipedrive.com"
	DefaultRechatAPIURL   = "https://api.rechat.com"
)

// DefaultDelivery is used for every delivery setting the file leaves out.
var DefaultDelivery = Delivery{
	Concurrency: 4,
	Timeout:     Duration(15 * time.Second),
	Backoff:     Backoff{Initial: Duration(5 * time.Second), Max: Duration(time.Hour)},
	MaxAttempts: 30,
	MaxAge:      Duration(168 * time.Hour),
}

// Default topics: the ones that carry leads.
var (
	DefaultReapitTopics = []string{"applicants.created", "applicants.modified"}
	DefaultRechatTopics = []string{"Contacts", "Showings"}
)

// applyDefaults fills in what the file left out. isSet tells an absent key
// from an explicit zero, which matters where zero means something
// (retention: 0 keeps everything) or is an error (concurrency: 0).
func (c *Config) applyDefaults(isSet func(path string) bool) {
	orString(&c.Listen, DefaultListen)
	orString(&c.StateDir, firstDir(os.Getenv("STATE_DIRECTORY")))
	orString(&c.StateDir, DefaultStateDir)
	if dir := firstDir(os.Getenv("RUNTIME_DIRECTORY")); dir != "" {
		orString(&c.AdminSocket, filepath.Join(dir, "admin.sock"))
	}
	orString(&c.AdminSocket, filepath.Join(c.StateDir, "admin.sock"))
	orString(&c.Log.Level, "info")
	orString(&c.Log.Format, "auto")
	if c.Log.Redact == nil {
		redact := true
		c.Log.Redact = &redact
	}
	orValue(&c.MaxBody, DefaultMaxBody, isSet("max_body"))
	orValue(&c.Retention, DefaultRetention, isSet("retention"))
	orValue(&c.Drain, DefaultDrain, isSet("drain"))
	c.Delivery.applyDefaults("delivery", isSet)
	for i := range c.Sources {
		c.Sources[i].applyDefaults(indexed("sources", i), isSet)
	}
	for i := range c.Sinks {
		c.Sinks[i].applyDefaults(indexed("sinks", i), isSet)
		c.Sinks[i].Effective = c.Delivery.overlay(c.Sinks[i].Delivery)
	}
}

func (d *Delivery) applyDefaults(path string, isSet func(string) bool) {
	def := DefaultDelivery
	orValue(&d.Concurrency, def.Concurrency, isSet(path+".concurrency"))
	orValue(&d.Timeout, def.Timeout, isSet(path+".timeout"))
	orValue(&d.Backoff.Initial, def.Backoff.Initial, isSet(path+".backoff.initial"))
	orValue(&d.Backoff.Max, def.Backoff.Max, isSet(path+".backoff.max"))
	orValue(&d.MaxAttempts, def.MaxAttempts, isSet(path+".max_attempts"))
	orValue(&d.MaxAge, def.MaxAge, isSet(path+".max_age"))
}

// overlay returns d with every field o sets replaced.
func (d Delivery) overlay(o *DeliveryOverride) Delivery {
	if o == nil {
		return d
	}
	over(&d.Concurrency, o.Concurrency)
	over(&d.Timeout, o.Timeout)
	over(&d.MaxAttempts, o.MaxAttempts)
	over(&d.MaxAge, o.MaxAge)
	if o.Backoff != nil {
		over(&d.Backoff.Initial, o.Backoff.Initial)
		over(&d.Backoff.Max, o.Backoff.Max)
	}
	return d
}

func (s *Source) applyDefaults(path string, isSet func(string) bool) {
	switch s.Provider {
	case ProviderHemnet:
		orPointer(&s.MaxClockSkew, DefaultMaxClockSkew)
	case ProviderReapit:
		orPointer(&s.MaxClockSkew, DefaultMaxClockSkew)
		if !isSet(path + ".signature") {
			s.Signature.Scheme = SchemeEd25519
		}
		orString(&s.APIURL, DefaultReapitAPIURL)
		orString(&s.TokenURL, DefaultReapitTokenURL)
		if !isSet(path + ".topics") {
			s.Topics = append([]string(nil), DefaultReapitTopics...)
		}
		if s.Reconcile != nil {
			orValue(&s.Reconcile.Overlap, DefaultOverlap, isSet(path+".reconcile.overlap"))
		}
	case ProviderRechat:
		if !isSet(path + ".topics") {
			s.Topics = append([]string(nil), DefaultRechatTopics...)
		}
	case ProviderGeneric:
		s.Signature.applyDefaults()
		// A window needs a timestamp to check: a signature without one
		// (signed {body}, no timestamp_header) gets none by default.
		if s.Signature.TimestampHeader != "" {
			orPointer(&s.MaxClockSkew, DefaultMaxClockSkew)
		}
	}
}

// applyDefaults fills a generic signature: the Standard Webhooks preset in
// full, otherwise hex HMAC-SHA256 of the body.
func (g *Signature) applyDefaults() {
	if g.Scheme == SchemeStandardWebhooks {
		orString(&g.Header, "webhook-signature")
		orString(&g.IDHeader, "webhook-id")
		orString(&g.TimestampHeader, "webhook-timestamp")
		orString(&g.TimestampUnit, "s") // the standard's: Unix seconds
		orString(&g.Signed, SignedIDTimestampDot)
		orString(&g.Encoding, "base64")
		orString(&g.Prefix, "v1,")
	}
	orString(&g.Encoding, "hex")
	orString(&g.Algorithm, "sha256")
	orString(&g.Signed, SignedBody)
	if g.TimestampHeader != "" {
		orString(&g.TimestampUnit, "auto")
	}
}

func (k *Sink) applyDefaults(path string, isSet func(string) bool) {
	switch k.Type {
	case SinkEmail:
		orString(&k.TLS, "starttls")
		port := map[string]int{"starttls": 587, "tls": 465, "none": 25}[k.TLS]
		orValue(&k.Port, port, isSet(path+".port"))
	case SinkHubSpot:
		orString(&k.APIURL, DefaultHubSpotAPIURL)
	case SinkPipedrive:
		orString(&k.APIURL, DefaultPipedriveURL)
	case SinkRechat:
		orString(&k.APIURL, DefaultRechatAPIURL)
	}
}

// firstDir returns the first entry of a systemd directory variable, which
// holds a colon-separated list when the unit names several directories.
func firstDir(v string) string {
	first, _, _ := strings.Cut(v, ":")
	return first
}

func orString(p *string, def string) {
	if *p == "" {
		*p = def
	}
}

// orValue sets *p to def unless the file set the key, even to zero.
func orValue[T any](p *T, def T, set bool) {
	if !set {
		*p = def
	}
}

func orPointer[T any](p **T, def T) {
	if *p == nil {
		*p = &def
	}
}

func over[T any](p *T, o *T) {
	if o != nil {
		*p = *o
	}
}
