package config

import (
	"reflect"
	"slices"
	"testing"
)

// TestKeyTables fences the per-provider and per-type key tables: every key
// of Source and Sink is read by someone, and every key in a table exists.
func TestKeyTables(t *testing.T) {
	for _, tc := range []struct {
		t      reflect.Type
		common []string
		table  map[string][]string
	}{
		{sourceType, sourceCommonKeys, sourceKeys},
		{sinkType, sinkCommonKeys, sinkKeys},
	} {
		fields := yamlFields(tc.t)
		used := slices.Clone(tc.common)
		for _, keys := range tc.table {
			used = append(used, keys...)
		}
		for key := range fields {
			if !slices.Contains(used, key) {
				t.Errorf("%s.%s is in no key table", tc.t.Name(), key)
			}
		}
		for _, key := range used {
			if _, ok := fields[key]; !ok {
				t.Errorf("%s has no key %s", tc.t.Name(), key)
			}
		}
	}
}

func TestSuggest(t *testing.T) {
	fields := yamlFields(sinkType)
	for key, want := range map[string]string{
		"urll": ` (did you mean "url"?)`, "tokn": ` (did you mean "token"?)`, "completely-different": "",
	} {
		if got := suggest(key, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
