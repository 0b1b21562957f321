package config

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// clearSystemdEnv makes the defaults independent of the environment the
// tests run in.
func clearSystemdEnv(t *testing.T) {
	for _, v := range []string{"STATE_DIRECTORY", "RUNTIME_DIRECTORY", "CREDENTIALS_DIRECTORY", "LEADSYNC_CONFIG"} {
		t.Setenv(v, "")
	}
}

func mustParse(t *testing.T, yml string) *Config {
	t.Helper()
	cfg, err := Parse("test.yaml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const minimal = "sources: [{name: hemnet, provider: hemnet, keys: [k]}]\n"

func TestDefaults(t *testing.T) {
	clearSystemdEnv(t)
	cfg := mustParse(t, minimal+"sinks: [{name: archive, type: file, path: /tmp/l}]\n")
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", cfg.Listen, "127.0.0.1:8080"},
		{"state_dir", cfg.StateDir, "./leadsync-data"},
		{"admin_socket", cfg.AdminSocket, filepath.Join("leadsync-data", "admin.sock")},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "auto"},
		{"log.redact", *cfg.Log.Redact, true},
		{"max_body", cfg.MaxBody, ByteSize(1 << 20)},
		{"retention", cfg.Retention.D(), 720 * time.Hour},
		{"drain", cfg.Drain.D(), 10 * time.Second},
		{"delivery", cfg.Delivery, DefaultDelivery},
		{"effective", cfg.Sinks[0].Effective, DefaultDelivery},
		{"max_clock_skew", cfg.Sources[0].MaxClockSkew.D(), 10 * time.Minute},
		{"concurrency", cfg.Delivery.Concurrency, 4},
		{"timeout", cfg.Delivery.Timeout.D(), 15 * time.Second},
		{"backoff", cfg.Delivery.Backoff, Backoff{Duration(5 * time.Second), Duration(time.Hour)}},
		{"max_attempts", cfg.Delivery.MaxAttempts, 30},
		{"max_age", cfg.Delivery.MaxAge.D(), 168 * time.Hour},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestDefaultsFromSystemd(t *testing.T) {
	clearSystemdEnv(t)
	t.Setenv("STATE_DIRECTORY", "/var/lib/leadsync:/var/lib/other")
	cfg := mustParse(t, minimal)
	if cfg.StateDir != "/var/lib/leadsync" || cfg.AdminSocket != "/var/lib/leadsync/admin.sock" {
		t.Errorf("state_dir %q admin_socket %q", cfg.StateDir, cfg.AdminSocket)
	}
	t.Setenv("RUNTIME_DIRECTORY", "/run/leadsync")
	if cfg := mustParse(t, minimal); cfg.AdminSocket != "/run/leadsync/admin.sock" {
		t.Errorf("admin_socket %q", cfg.AdminSocket)
	}
	if cfg := mustParse(t, minimal+"state_dir: /srv/ls\nadmin_socket: /tmp/a.sock\n"); cfg.StateDir != "/srv/ls" || cfg.AdminSocket != "/tmp/a.sock" {
		t.Errorf("explicit: state_dir %q admin_socket %q", cfg.StateDir, cfg.AdminSocket)
	}
}

// TestExplicitZero checks that an explicit 0 is kept where it means
// something, and a null is the same as leaving the key out.
func TestExplicitZero(t *testing.T) {
	clearSystemdEnv(t)
	cfg := mustParse(t, "retention: 0\ndrain: 0\nsources: [{name: hemnet, provider: hemnet, keys: [k], max_clock_skew: 0}]\n")
	if cfg.Retention != 0 || cfg.Drain != 0 || *cfg.Sources[0].MaxClockSkew != 0 {
		t.Errorf("retention %v drain %v skew %v; want all 0", cfg.Retention, cfg.Drain, *cfg.Sources[0].MaxClockSkew)
	}
	cfg = mustParse(t, "retention:\nlog: {redact: false}\n"+minimal)
	if cfg.Retention != DefaultRetention || *cfg.Log.Redact {
		t.Errorf("retention %v redact %v", cfg.Retention, *cfg.Log.Redact)
	}
}

func TestDeliveryOverride(t *testing.T) {
	clearSystemdEnv(t)
	cfg := mustParse(t, minimal+`
delivery: {concurrency: 8, backoff: {max: 2h}}
sinks:
  - {name: a, type: file, path: /tmp/a}
  - {name: b, type: file, path: /tmp/b, delivery: {timeout: 1m, backoff: {initial: 1s}, max_attempts: 5}}
`)
	top := DefaultDelivery
	top.Concurrency = 8
	top.Backoff.Max = Duration(2 * time.Hour)
	if cfg.Delivery != top || cfg.Sinks[0].Effective != top {
		t.Errorf("delivery %+v, sink a %+v; want %+v", cfg.Delivery, cfg.Sinks[0].Effective, top)
	}
	b := top
	b.Timeout = Duration(time.Minute)
	b.Backoff.Initial = Duration(time.Second)
	b.MaxAttempts = 5
	if cfg.Sinks[1].Effective != b {
		t.Errorf("sink b %+v, want %+v", cfg.Sinks[1].Effective, b)
	}
}

func TestProviderDefaults(t *testing.T) {
	clearSystemdEnv(t)
	cfg := mustParse(t, `
sources:
  - {name: reapit, provider: reapit, client_id: c, client_secret: s, reconcile: {schedule: "@hourly"}}
  - {name: rechat, provider: rechat, key: `+DemoRechatKey+`}
  - {name: sw, provider: generic, signature: {scheme: standard-webhooks, secret: whsec_aGVsbG8=}}
  - {name: site, provider: generic, signature: {header: X-Sig, secret: s}}
sinks:
  - {name: mail, type: email, host: localhost, from: a@example.com, to: [b@example.com]}
  - {name: mail2, type: email, host: localhost, tls: tls, from: a@example.com, to: [b@example.com]}
  - {name: hubspot, type: hubspot, token: t}
  - {name: pipedrive, type: pipedrive, token: t}
  - {name: rechat, type: rechat, channel: c}
`)
	r := cfg.Source("reapit")
	if r.Signature.Scheme != SchemeEd25519 || r.APIURL != DefaultReapitAPIURL || r.TokenURL != DefaultReapitTokenURL ||
		!slices.Equal(r.Topics, DefaultReapitTopics) || r.Reconcile.Overlap != DefaultOverlap || *r.MaxClockSkew != DefaultMaxClockSkew {
		t.Errorf("reapit: %+v", r)
	}
	if rc := cfg.Source("rechat"); !slices.Equal(rc.Topics, DefaultRechatTopics) || rc.MaxClockSkew != nil {
		t.Errorf("rechat: %+v", rc)
	}
	sw := cfg.Source("sw").Signature
	wantSW := Signature{Scheme: SchemeStandardWebhooks, Header: "webhook-signature", Prefix: "v1,", Encoding: "base64",
		Algorithm: "sha256", Signed: SignedIDTimestampDot, Secret: sw.Secret, TimestampHeader: "webhook-timestamp",
		TimestampUnit: "s", IDHeader: "webhook-id"}
	if !sameSignature(sw, wantSW) {
		t.Errorf("standard-webhooks: %+v", sw)
	}
	if g := cfg.Source("site").Signature; g.Encoding != "hex" || g.Algorithm != "sha256" || g.Signed != SignedBody || g.TimestampUnit != "" {
		t.Errorf("generic: %+v", g)
	}
	if m := cfg.Sink("mail"); m.TLS != "starttls" || m.Port != 587 {
		t.Errorf("mail: tls %q port %d", m.TLS, m.Port)
	}
	if m := cfg.Sink("mail2"); m.Port != 465 {
		t.Errorf("mail2: port %d", m.Port)
	}
	for name, want := range map[string]string{"hubspot": DefaultHubSpotAPIURL, "pipedrive": DefaultPipedriveURL, "rechat": DefaultRechatAPIURL} {
		if got := cfg.Sink(name).APIURL; got != want {
			t.Errorf("%s api_url %q, want %q", name, got, want)
		}
	}
}

func sameSignature(a, b Signature) bool {
	a.Secrets, b.Secrets = nil, nil
	return a.Header == b.Header && a.Prefix == b.Prefix && a.Encoding == b.Encoding && a.Algorithm == b.Algorithm &&
		a.Signed == b.Signed && a.TimestampHeader == b.TimestampHeader && a.TimestampUnit == b.TimestampUnit &&
		a.IDHeader == b.IDHeader && a.Scheme == b.Scheme && a.Secret.Reveal() == b.Secret.Reveal()
}
