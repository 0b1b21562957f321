package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and must
// return either a usable *Config or a non-empty *Errors whose every entry
// names the file and says something. The committed corpus in
// testdata/fuzz/FuzzParse and every testdata YAML file are the seeds.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("testdata/errors/*.yaml")
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(demoYAML)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err != nil {
			var errs *Errors
			if cfg != nil || !errors.As(err, &errs) || len(*errs) == 0 {
				t.Fatalf("Parse = %v, %T %v; want nil and a non-empty *Errors", cfg, err, err)
			}
			for _, e := range *errs {
				if e.File != "fuzz.yaml" || e.Msg == "" || e.Line < 0 {
					t.Fatalf("malformed error %#v", e)
				}
			}
			_ = err.Error()
			return
		}
		if cfg == nil || len(cfg.Sources) == 0 {
			t.Fatalf("Parse = %v, nil; want a config with a source", cfg)
		}
		if _, err := cfg.Redacted(); err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		_ = cfg.Warnings()
		_ = fmt.Sprintf("%+v %#v", cfg, cfg)
	})
}
