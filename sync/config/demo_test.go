package config

import (
	"net"
	"testing"
)

func TestDemo(t *testing.T) {
	clearSystemdEnv(t)
	cfg := Demo()
	if !cfg.Demo || cfg.Path != "" {
		t.Errorf("Demo = %v, Path = %q", cfg.Demo, cfg.Path)
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen); !net.ParseIP(host).IsLoopback() {
		t.Errorf("demo listens on %q, beyond loopback", cfg.Listen)
	}
	if cfg.StateDir != "./leadsync-data" {
		t.Errorf("state_dir %q", cfg.StateDir)
	}
	secrets := map[string]string{
		"hemnet": cfg.Source("hemnet").Keys[0].Reveal(),
		"reapit": cfg.Source("reapit").ClientID.Reveal(),
		"rechat": cfg.Source("rechat").Key.Reveal(),
	}
	for name, want := range map[string]string{"hemnet": DemoHemnetKey, "reapit": DemoReapitClientID, "rechat": DemoRechatKey} {
		if secrets[name] != want {
			t.Errorf("%s secret %q, want the exported %q", name, secrets[name], want)
		}
	}
	if s := cfg.Source("reapit").Signature.Scheme; s != SchemeLegacy {
		t.Errorf("reapit signature %q", s)
	}
	if len(cfg.Sinks) != 1 || cfg.Sinks[0].Type != SinkFile || cfg.Sinks[0].Path != "./leadsync-data/leads.jsonl" {
		t.Errorf("sinks %+v", cfg.Sinks)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
}
