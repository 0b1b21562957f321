package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestFindPath(t *testing.T) {
	dir := t.TempDir()
	def := filepath.Join(dir, "leadsync.yaml")
	old := defaultPath
	defaultPath = def
	t.Cleanup(func() { defaultPath = old })

	t.Setenv("LEADSYNC_CONFIG", "")
	if got := FindPath(""); got != "" {
		t.Errorf("nothing: %q, want the demo (\"\")", got)
	}
	writeFile(t, def, minimal)
	if got := FindPath(""); got != def {
		t.Errorf("default exists: %q", got)
	}
	t.Setenv("LEADSYNC_CONFIG", "/from/env.yaml")
	if got := FindPath(""); got != "/from/env.yaml" {
		t.Errorf("env: %q", got)
	}
	if got := FindPath("/from/flag.yaml"); got != "/from/flag.yaml" {
		t.Errorf("flag: %q", got)
	}
	if err := os.Remove(def); err != nil {
		t.Fatal(err)
	}
}

func TestMatches(t *testing.T) {
	var none *Match
	m := &Match{Sources: []string{"hemnet"}, Actions: []string{"created"}}
	tests := []struct {
		m              *Match
		source, action string
		want           bool
	}{
		{none, "x", "deleted", true},
		{&Match{}, "x", "deleted", true},
		{m, "hemnet", "created", true},
		{m, "hemnet", "updated", false},
		{m, "reapit", "created", false},
		{&Match{Actions: []string{"updated"}}, "any", "updated", true},
	}
	for _, tt := range tests {
		if got := tt.m.Matches(tt.source, tt.action); got != tt.want {
			t.Errorf("%+v.Matches(%s, %s) = %v", tt.m, tt.source, tt.action, got)
		}
	}
}

func TestPrefixes(t *testing.T) {
	clearSystemdEnv(t)
	cfg := mustParse(t, `
trusted_proxies: [127.0.0.1, 10.1.2.3/8]
sources: [{name: hemnet, provider: hemnet, keys: [k], allow_ips: [hemnet-sandbox, 192.0.2.1, "2001:db8::/32"]}]
`)
	want := []string{"127.0.0.1/32", "10.0.0.0/8"}
	if got := cfg.TrustedProxyPrefixes(); !slices.Equal(strs(got), want) {
		t.Errorf("trusted proxies %v, want %v", got, want)
	}
	want = []string{"34.252.42.223/32", "54.72.180.48/32", "34.249.104.221/32", "192.0.2.1/32", "2001:db8::/32"}
	if got := cfg.Sources[0].AllowedPrefixes(); !slices.Equal(strs(got), want) {
		t.Errorf("allow_ips %v, want %v", got, want)
	}
}

func strs(ps []netip.Prefix) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func TestNeedsRestart(t *testing.T) {
	clearSystemdEnv(t)
	a := mustParse(t, minimal)
	b := mustParse(t, minimal+"listen: 127.0.0.1:9090\nretention: 1h\n")
	if got := a.NeedsRestart(b); !slices.Equal(got, []string{"listen"}) {
		t.Errorf("NeedsRestart = %v", got)
	}
	if got := a.NeedsRestart(a); len(got) != 0 {
		t.Errorf("NeedsRestart(same) = %v", got)
	}
}

func TestWarnings(t *testing.T) {
	clearSystemdEnv(t)
	path := filepath.Join(t.TempDir(), "leadsync.yaml")
	writeFile(t, path, `
log: {redact: false}
retention: 1h
sources:
  - {name: hemnet, provider: hemnet, keys: [inline-key]}
  - {name: rechat, provider: rechat, key: `+DemoRechatKey+`, topics: [" contacts", Listings]}
sinks:
  - {name: a, type: file, path: /tmp/a, match: {sources: [hemnet]}}
  - {name: r, type: rechat, channel: ch-1, token: old-token, match: {sources: [hemnet]}}
`)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"source rechat: no sink matches it, so its leads are stored but delivered nowhere",
		`sources[1].topics[1]: "Listings" is not a topic Rechat documents (as this build knows them); check its spelling`,
		"sinks[1].token: not used by a rechat sink (the lead channel id is its credential): remove it",
		"retention: 1h0m0s is shorter than 48h0m0s: a provider's retry (or a reconcile backfill) of an event pruned by then is taken as new and delivered again",
		"log.redact: false takes effect only at log.level debug",
		path + " holds inline secrets and is readable by every user: chmod o-r it, or use {credential: NAME}",
	}
	if got := cfg.Warnings(); !slices.Equal(got, want) {
		t.Errorf("Warnings =\n%q\nwant\n%q", got, want)
	}
	if got := mustParse(t, minimal).Warnings(); !slices.Equal(got, []string{"no sinks configured: leads are stored but delivered nowhere"}) {
		t.Errorf("no sinks: %q", got)
	}
}
