package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/errors/*.err from the current output")

// errorLine is the shape every reported problem must have.
var errorLine = regexp.MustCompile(`^testdata/errors/[a-z_]+\.yaml(:[0-9]+)?: (\S+: )?\S.*$`)

// TestErrors loads each testdata/errors/NAME.yaml and compares every
// reported problem with NAME.err. Inline secrets in those files are all
// "hunter2", which must never appear in a message.
func TestErrors(t *testing.T) {
	t.Setenv("CREDENTIALS_DIRECTORY", "testdata/no-credentials")
	t.Setenv("LEADSYNC_TEST_EMPTY", "")
	t.Setenv("LEADSYNC_TEST_UNSET", "")
	os.Unsetenv("LEADSYNC_TEST_UNSET")
	t.Setenv("STATE_DIRECTORY", "")
	t.Setenv("RUNTIME_DIRECTORY", "")

	files, err := filepath.Glob("testdata/errors/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test cases: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(file)
			var errs *Errors
			if !errors.As(err, &errs) || cfg != nil {
				t.Fatalf("Load = %v, %v; want nil and *Errors", cfg, err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%swant:\n%s", golden, got, want)
			}
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if !errorLine.MatchString(line) {
					t.Errorf("not FILE:LINE: path: message: %q", line)
				}
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("a secret value appears in the errors:\n%s", got)
			}
		})
	}
}

// TestAllAtOnce checks that independent mistakes are all reported, one line
// each, in file order.
func TestAllAtOnce(t *testing.T) {
	_, err := Load("testdata/errors/all_at_once.yaml")
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load = %v; want *Errors", err)
	}
	want := []struct {
		line int
		path string
	}{
		{5, "sources[0].keys"},
		{11, "sources[1].reconcile.schedule"},
		{15, "sinks[0].urll"},
		{21, "sinks[1].match.sources[0]"},
		{23, "delivery.timeout"},
	}
	if len(*errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(*errs), len(want), err)
	}
	for i, w := range want {
		if e := (*errs)[i]; e.Line != w.line || e.Path != w.path {
			t.Errorf("error %d = %d %s, want %d %s", i, e.Line, e.Path, w.line, w.path)
		}
	}
	// Each problem is also reachable on its own.
	var one Error
	if !errors.As(err, &one) || one.Path != "sources[0].keys" {
		t.Errorf("errors.As(Error) = %+v", one)
	}
}

func TestLoadUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := Load(path)
	var errs *Errors
	if !errors.As(err, &errs) || len(*errs) != 1 {
		t.Fatalf("Load = %v; want one *Errors", err)
	}
	if want := path + ": cannot read: no such file or directory"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestSpecExample loads the full example from SPEC.md once the environment
// variables and credentials it names exist.
func TestSpecExample(t *testing.T) {
	creds := t.TempDir()
	for name, v := range map[string]string{
		"hemnet-key":      "hemnet-key-1\n",
		"reapit-secret":   "reapit-secret\n",
		"rechat-key":      strings.Repeat("ab", 32) + "\n",
		"crm-whsec":       "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
		"smtp-password":   "smtp-password",
		"hubspot-token":   "hubspot-token",
		"pipedrive-token": "pipedrive-token",
		"sf-secret":       "sf-secret",
		"rechat-channel":  "rechat-channel",
	} {
		writeFile(t, filepath.Join(creds, name), v)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	for _, name := range []string{"HEMNET_KEY_NEXT", "REAPIT_CLIENT_ID", "SITE_SECRET", "CRM_AUTH", "SMTP_USER", "SF_CLIENT_ID"} {
		t.Setenv(name, strings.ToLower(name))
	}
	cfg, err := Load("testdata/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sources) != 4 || len(cfg.Sinks) != 7 {
		t.Fatalf("got %d sources, %d sinks", len(cfg.Sources), len(cfg.Sinks))
	}
	checks := []struct{ got, want string }{
		{cfg.Sources[0].Keys[0].Reveal(), "hemnet-key-1"},
		{cfg.Sources[0].Keys[1].Reveal(), "hemnet_key_next"},
		{cfg.Sources[0].Keys[0].Source(), "credential:hemnet-key"},
		{cfg.Sources[1].Signature.Scheme, SchemeEd25519},
		{cfg.Sources[1].Reconcile.Schedule, "@every 15m"},
		{cfg.Sources[3].Signature.Signed, SignedTimestampBody},
		{cfg.Sources[3].Signature.Secret.Reveal(), "site_secret"},
		{cfg.Sinks[0].Headers["Authorization"].Reveal(), "crm_auth"},
		{cfg.Sinks[2].Password.Reveal(), "smtp-password"},
		{cfg.Sinks[6].Channel.Reveal(), "rechat-channel"},
		{cfg.Path, "testdata/spec.yaml"},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d: got %q, want %q", i, c.got, c.want)
		}
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %q", w)
	}
}

// writeFile writes a test file, failing the test on error.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
