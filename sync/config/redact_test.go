package config

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestRedacted(t *testing.T) {
	clearSystemdEnv(t)
	t.Setenv("LEADSYNC_TEST_RECHAT", DemoRechatKey)
	cfg := mustParse(t, secretConfig+`
delivery: {concurrency: 2}
`)
	cfg.Sinks[1].Effective.Concurrency = 9 // as if overridden
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"listen: 127.0.0.1:8080\n", "retention: 720h\n", "max_body: 1MiB\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	if strings.Contains(text, "hunter2") || strings.Contains(text, DemoRechatKey) {
		t.Errorf("secret in\n%s", text)
	}

	// The output is YAML that shows what applies, and only that.
	var back struct {
		Sources []map[string]any
		Sinks   []map[string]any
	}
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("%v in\n%s", err, text)
	}
	if _, ok := back.Sources[0]["client_id"]; ok {
		t.Errorf("hemnet source shows client_id:\n%s", text)
	}
	if got := back.Sources[2]["key"]; got.(map[string]any)["env"] != "LEADSYNC_TEST_RECHAT" {
		t.Errorf("rechat key shown as %v, want its reference", got)
	}
	if got := back.Sources[1]["client_id"]; got != mask {
		t.Errorf("inline client_id shown as %v", got)
	}
	if _, ok := back.Sinks[0]["delivery"]; ok {
		t.Errorf("sink with default delivery shows it:\n%s", text)
	}
	if d, ok := back.Sinks[1]["delivery"].(map[string]any); !ok || d["concurrency"] != 9 || d["max_attempts"] != 30 {
		t.Errorf("overridden delivery shown as %v", back.Sinks[1]["delivery"])
	}
}
