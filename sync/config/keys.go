package config

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Providers a source may name.
const (
	ProviderHemnet  = "hemnet"
	ProviderReapit  = "reapit"
	ProviderRechat  = "rechat"
	ProviderGeneric = "generic"
)

// Types a sink may have.
const (
	SinkWebhook    = "webhook"
	SinkFile       = "file"
	SinkEmail      = "email"
	SinkHubSpot    = "hubspot"
	SinkPipedrive  = "pipedrive"
	SinkSalesforce = "salesforce"
	SinkRechat     = "rechat"
)

// Source and Sink are flat structs holding the keys of every provider and
// type, so the decoder alone would accept a Reapit client_id on a Hemnet
// source and silently ignore it. These tables say which keys each kind
// reads; anything else present is an error. A test checks that every field
// of Source and Sink appears in them.
var (
	sourceCommonKeys = []string{"name", "provider", "allow_ips"}
	sourceKeys       = map[string][]string{
		ProviderHemnet: {"keys", "max_clock_skew"},
		ProviderReapit: {"client_id", "client_secret", "signature", "public_keys", "customers",
			"topics", "api_url", "token_url", "reconcile", "max_clock_skew"},
		ProviderRechat:  {"key", "keys", "topics"},
		ProviderGeneric: {"signature", "max_clock_skew", "event_id", "event_time", "type", "types", "each", "fields"},
	}

	sinkCommonKeys = []string{"name", "type", "match", "delivery"}
	sinkKeys       = map[string][]string{
		SinkWebhook: {"url", "secret", "headers"},
		SinkFile:    {"path"},
		SinkEmail: {"host", "port", "tls", "username", "password", "from", "to", "to_agent",
			"subject", "text_template", "html_template"},
		SinkHubSpot:   {"token", "api_url", "properties", "constants"},
		SinkPipedrive: {"token", "api_url", "properties", "constants"},
		SinkSalesforce: {"instance_url", "client_id", "client_secret", "external_id_field", "properties", "constants",
			"api_version", "default_last_name", "default_company"},
		SinkRechat: {"channel", "token", "api_url", "lead_source", "source_type", "tags"},
	}
)

// sortedKinds lists a table's kinds for messages.
func sortedKinds(table map[string][]string) []string {
	out := make([]string, 0, len(table))
	for k := range table {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// inapplicable reports every key present under path that the kind does not
// read, e.g. `sources[0].client_id: not used by provider hemnet`.
func (c *checker) inapplicable(path string, t reflect.Type, what, kind string, common []string, table map[string][]string) {
	keys := slices.Sorted(maps.Keys(yamlFields(t))) // deterministic order within a line
	for _, key := range keys {
		child := join(path, key)
		if !c.d.isSet(child) || slices.Contains(common, key) || slices.Contains(table[kind], key) {
			continue
		}
		c.errorf(child, "not used by %s %s", what, kind)
	}
}

// kindFields narrows a source's or sink's fields to those its provider or
// type reads, when the mapping n names a known one: a typo is then not
// "corrected" into a key of another provider, which would be refused next.
// Any other struct's fields are returned as they are.
func kindFields(t reflect.Type, n *yaml.Node, fields map[string]int) map[string]int {
	kindKey, common, table := "", []string(nil), map[string][]string(nil)
	switch t {
	case sourceType:
		kindKey, common, table = "provider", sourceCommonKeys, sourceKeys
	case sinkType:
		kindKey, common, table = "type", sinkCommonKeys, sinkKeys
	default:
		return fields
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Value != kindKey || val.Kind != yaml.ScalarNode {
			continue
		}
		own, ok := table[val.Value]
		if !ok {
			return fields
		}
		out := make(map[string]int, len(common)+len(own))
		for _, name := range slices.Concat(common, own) {
			if i, ok := fields[name]; ok {
				out[name] = i
			}
		}
		return out
	}
	return fields
}

// suggest returns ` (did you mean "x"?)` for a key one or two edits away
// from a known one: most unknown keys are typos.
func suggest(key string, fields map[string]int) string {
	if best := closest(key, fields); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// closest is the name in names one or two edits away from key (the first
// in order among the nearest), or "".
func closest(key string, names map[string]int) string {
	best, bestDist := "", 3
	for f := range names {
		if d := editDistance(key, f); d < bestDist || (d == bestDist && f < best) {
			best, bestDist = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
