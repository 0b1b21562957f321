// Package leadtest is a test helper that checks lead JSON against the lead
// schema (sync/lead/lead.schema.json), so that every provider's mapping tests
// prove the same contract the sinks rely on.
//
// It is meant for _test.go files only: it reads the schema from the source
// tree, next to this package, and so needs the module's sources on disk (a
// normal `go test`; not a -trimpath binary).
package leadtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// compiled is the schema, compiled once per test binary: compiling takes far
// longer than validating, and fuzz tests validate thousands of leads.
var compiled = sync.OnceValues(compile)

// SchemaPath returns the absolute path of lead.schema.json. It is found from
// this file's own location rather than the working directory, because go test
// runs each package in its own directory.
func SchemaPath() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("leadtest: cannot locate own source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "lead.schema.json"), nil
}

func compile() (*jsonschema.Schema, error) {
	path, err := SchemaPath()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("leadtest: open schema: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("leadtest: read schema %s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	// Formats are annotations only in 2020-12 unless asserted; the lead's
	// times must really be date-times.
	c.AssertFormat()
	if err := c.AddResource(path, doc); err != nil {
		return nil, fmt.Errorf("leadtest: add schema: %w", err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		return nil, fmt.Errorf("leadtest: compile schema: %w", err)
	}
	return sch, nil
}

// Check validates leadJSON against the lead schema and returns every
// violation found, or nil. It is the non-failing form of Validate, for tests
// that expect a lead to be rejected.
func Check(leadJSON []byte) error {
	sch, err := compiled()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(leadJSON))
	if err != nil {
		return fmt.Errorf("lead is not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// Validate fails t (without stopping it) when leadJSON does not match the
// lead schema, reporting every violation and the offending JSON.
func Validate(t testing.TB, leadJSON []byte) {
	t.Helper()
	if err := Check(leadJSON); err != nil {
		t.Errorf("lead does not match lead.schema.json:\n%v\nlead: %s", err, leadJSON)
	}
}
