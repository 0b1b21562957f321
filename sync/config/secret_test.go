package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// loadKeys loads a one-source config whose hemnet keys are the given YAML
// flow values, from a real file.
func loadKeys(t *testing.T, keys ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "leadsync.yaml")
	writeFile(t, path, "sources:\n  - name: hemnet\n    provider: hemnet\n    keys: ["+strings.Join(keys, ", ")+"]\n")
	return Load(path)
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plain"), "from-file\n")
	writeFile(t, filepath.Join(dir, "crlf"), "from-crlf\r\n")
	creds := filepath.Join(dir, "creds")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(creds, "hemnet-key"), "from-credential\n")
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	t.Setenv("LEADSYNC_TEST_KEY", "from-env")

	cfg, err := loadKeys(t,
		"inline-value",
		"{env: LEADSYNC_TEST_KEY}",
		"{file: "+filepath.Join(dir, "plain")+"}",
		"{file: "+filepath.Join(dir, "crlf")+"}",
		"{credential: hemnet-key}",
	)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ value, source string }{
		{"inline-value", "inline"},
		{"from-env", "env:LEADSYNC_TEST_KEY"},
		{"from-file", "file:" + filepath.Join(dir, "plain")},
		{"from-crlf", "file:" + filepath.Join(dir, "crlf")},
		{"from-credential", "credential:hemnet-key"},
	}
	for i, w := range want {
		s := cfg.Sources[0].Keys[i]
		if s.Reveal() != w.value || s.Source() != w.source || !s.IsSet() {
			t.Errorf("key %d = %q from %q, want %q from %q", i, s.Reveal(), s.Source(), w.value, w.source)
		}
	}
}

func TestSecretUnreadable(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), "\n")
	writeFile(t, filepath.Join(dir, "huge"), strings.Repeat("x", maxSecretFile+1))
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	tests := []struct{ key, want string }{
		{"{file: " + dir + "}", "is not a regular file"},
		{"{file: " + filepath.Join(dir, "empty") + "}", "is empty"},
		{"{file: " + filepath.Join(dir, "huge") + "}", "is larger than 65536 bytes"},
		{"{credential: hemnet-key}", "credential hemnet-key: $CREDENTIALS_DIRECTORY is not set"},
	}
	for _, tt := range tests {
		_, err := loadKeys(t, tt.key)
		var errs *Errors
		if !errors.As(err, &errs) || len(*errs) != 1 {
			t.Fatalf("%s: got %v, want one error", tt.key, err)
		}
		if e := (*errs)[0]; e.Line != 4 || e.Path != "sources[0].keys[0]" || !strings.Contains(e.Msg, tt.want) {
			t.Errorf("%s: got %v, want line 4 sources[0].keys[0] …%s", tt.key, e, tt.want)
		}
		if strings.Contains(err.Error(), "xxxx") {
			t.Errorf("%s: the file's content appears in %v", tt.key, err)
		}
	}
}

// secretConfig has a distinct value in every kind of secret field, each
// containing "hunter2", so a leak is one strings.Contains away.
const secretConfig = `
sources:
  - {name: hemnet, provider: hemnet, keys: [hunter2-hemnet]}
  - {name: reapit, provider: reapit, client_id: hunter2-client, client_secret: hunter2-secret}
  - {name: rechat, provider: rechat, key: {env: LEADSYNC_TEST_RECHAT}}
  - name: site
    provider: generic
    signature: {header: X-Sig, secret: hunter2-generic, secrets: [hunter2-generic-next]}
sinks:
  - name: crm
    type: webhook
    url: https://crm.example.com
    secret: whsec_aHVudGVyMi13ZWJob29r
    headers: {Authorization: hunter2-header}
  - {name: agents, type: email, host: smtp.example.com, from: a@example.com, to_agent: true,
     username: hunter2-user, password: hunter2-password}
  - {name: hubspot, type: hubspot, token: hunter2-token}
  - {name: sf, type: salesforce, instance_url: "https://x.example.com", client_id: hunter2-sfid,
     client_secret: hunter2-sfsecret, external_id_field: Id__c}
  - {name: rechat, type: rechat, channel: hunter2-channel}
`

// TestSecretMasking proves that no way of printing a Config, or a Secret on
// its own, shows a secret's value.
func TestSecretMasking(t *testing.T) {
	rechatKey := strings.Repeat("0123456789abcdef", 4) // the value that must not show
	t.Setenv("LEADSYNC_TEST_RECHAT", rechatKey)
	cfg, err := Parse("masking.yaml", []byte(secretConfig))
	if err != nil {
		t.Fatal(err)
	}
	whsec := cfg.Sinks[0].Secret
	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%20s"} {
		outputs["cfg "+verb] = fmt.Sprintf(verb, cfg)
		outputs["*cfg "+verb] = fmt.Sprintf(verb, *cfg)
		outputs["secret "+verb] = fmt.Sprintf(verb, whsec)
		outputs["&secret "+verb] = fmt.Sprintf(verb, &whsec)
	}
	outputs["Sprint"] = fmt.Sprint(whsec, cfg.Sources[0].Keys)
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"slog text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"slog json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var b bytes.Buffer
		slog.New(h(&b)).Info("loaded", "cfg", cfg, "secret", whsec, "sink", cfg.Sinks[0], "keys", cfg.Sources[0].Keys)
		outputs[name] = b.String()
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	y, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs["yaml"] = string(y)
	r, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	outputs["Redacted"] = string(r)

	for name, out := range outputs {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "aHVudGVy") || strings.Contains(out, rechatKey) ||
			strings.Contains(out, "68756e74657232") { // "hunter2" in hex, for %x
			t.Errorf("%s shows a secret:\n%s", name, out)
		}
		if !strings.Contains(out, mask) && !strings.Contains(strings.ToLower(out), "5b7365637265745d") {
			t.Errorf("%s does not show the mask:\n%s", name, out)
		}
	}
	if got := whsec.Reveal(); got != "whsec_aHVudGVyMi13ZWJob29r" {
		t.Errorf("Reveal = %q", got)
	}
}

func TestSecretZero(t *testing.T) {
	var s Secret
	if s.IsSet() || s.Reveal() != "" || s.Source() != "" || s.String() != "" {
		t.Errorf("zero Secret = %v %q %q", s.IsSet(), s.Reveal(), s.Source())
	}
	if n := NewSecret("x"); !n.IsSet() || n.Reveal() != "x" || n.Source() != "inline" {
		t.Errorf("NewSecret = %v %q %q", n.IsSet(), n.Reveal(), n.Source())
	}
	if NewSecret("").IsSet() {
		t.Error(`NewSecret("") is set`)
	}
}

// TestLoadLayout loads a file whose secrets this process cannot read: Load
// names each, LoadLayout leaves them unread and checks everything else.
func TestLoadLayout(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	path := filepath.Join(t.TempDir(), "leadsync.yaml")
	body := `state_dir: /var/lib/leadsync-test
admin_socket: /run/leadsync-test/admin.sock
sources:
  - {name: hemnet, provider: hemnet, keys: [{credential: hemnet-key}]}
  - {name: rechat, provider: rechat, key: {env: LEADSYNC_TEST_UNSET_RECHAT}, keys: [{credential: rechat-next}]}
sinks:
  - {name: crm, type: webhook, url: "https://crm.example/hook", secret: {env: LEADSYNC_TEST_UNSET_WHSEC}}
`
	writeFile(t, path, body)
	_, err := Load(path)
	var errs *Errors
	if !errors.As(err, &errs) || len(*errs) != 4 {
		t.Fatalf("Load: %v, want the 4 unreadable secrets", err)
	}
	cfg, err := LoadLayout(path)
	if err != nil {
		t.Fatalf("LoadLayout: %v", err)
	}
	if cfg.StateDir != "/var/lib/leadsync-test" || cfg.AdminSocket != "/run/leadsync-test/admin.sock" || cfg.Path != path {
		t.Fatalf("LoadLayout: state_dir %q, admin_socket %q, path %q", cfg.StateDir, cfg.AdminSocket, cfg.Path)
	}
	if s := cfg.Sinks[0].Secret; !s.IsSet() || s.Reveal() != "" || s.Source() != "env:LEADSYNC_TEST_UNSET_WHSEC" {
		t.Fatalf("unread secret: set %v, value %q, source %q", s.IsSet(), s.Reveal(), s.Source())
	}

	// What does not depend on a secret's value is still checked.
	writeFile(t, path, strings.Replace(body, "admin_socket:", "admin_sockett:", 1))
	if _, err := LoadLayout(path); err == nil || !strings.Contains(err.Error(), "admin_sockett") {
		t.Fatalf("LoadLayout of a misspelt key: %v", err)
	}
	// An inline value is at hand, and still checked.
	writeFile(t, path, strings.Replace(body, "{env: LEADSYNC_TEST_UNSET_WHSEC}", "not-a-whsec", 1))
	if _, err := LoadLayout(path); err == nil || !strings.Contains(err.Error(), "whsec_") {
		t.Fatalf("LoadLayout of an inline secret that is not whsec_: %v", err)
	}
}
