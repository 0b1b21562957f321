package config

import (
	"bytes"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Redacted returns the effective config as YAML, for `leadsync check
// --print`: defaults filled in, a sink's delivery shown in full where it
// differs from the top-level one, keys that
// do not apply to a source or sink left out, and secrets masked (a reference
// shows as written, e.g. {env: NAME}; an inline value as "[secret]").
func (c *Config) Redacted() ([]byte, error) {
	view := *c
	view.Sinks = slices.Clone(c.Sinks)
	for i, k := range view.Sinks {
		view.Sinks[i].Delivery = nil
		if k.Effective != c.Delivery {
			view.Sinks[i].Delivery = overrideOf(k.Effective)
		}
	}
	var n yaml.Node
	if err := n.Encode(&view); err != nil {
		return nil, err
	}
	pruneKinds(&n, "sources", "provider", sourceCommonKeys, sourceKeys)
	pruneKinds(&n, "sinks", "type", sinkCommonKeys, sinkKeys)
	pruneEmpty(&n)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// overrideOf turns an effective Delivery into an override that sets every
// field, so that Redacted prints it under the sink.
func overrideOf(d Delivery) *DeliveryOverride {
	return &DeliveryOverride{
		Concurrency: &d.Concurrency,
		Timeout:     &d.Timeout,
		Backoff:     &BackoffOverride{Initial: &d.Backoff.Initial, Max: &d.Backoff.Max},
		MaxAttempts: &d.MaxAttempts,
		MaxAge:      &d.MaxAge,
	}
}

// pruneKinds drops, from each item of the list under key, the keys its kind
// (provider or type) does not read.
func pruneKinds(root *yaml.Node, key, kindKey string, common []string, table map[string][]string) {
	list := mapValue(root, key)
	if list == nil {
		return
	}
	for _, item := range list.Content {
		kind := ""
		if v := mapValue(item, kindKey); v != nil {
			kind = v.Value
		}
		filterPairs(item, func(k, _ *yaml.Node) bool {
			return slices.Contains(common, k.Value) || slices.Contains(table[kind], k.Value)
		})
	}
}

// pruneEmpty drops nulls, empty strings and empty collections, depth first,
// so the listing shows what is configured rather than every field.
func pruneEmpty(n *yaml.Node) {
	for _, c := range n.Content {
		pruneEmpty(c)
	}
	if n.Kind == yaml.MappingNode {
		filterPairs(n, func(_, v *yaml.Node) bool { return !isEmptyNode(v) })
	}
}

func isEmptyNode(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return isNull(n) || (n.Value == "" && n.Tag == "!!str")
	case yaml.MappingNode, yaml.SequenceNode:
		return len(n.Content) == 0
	}
	return false
}

// mapValue returns the value of key in a mapping node, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// filterPairs keeps the key/value pairs of a mapping for which keep is true.
func filterPairs(n *yaml.Node, keep func(k, v *yaml.Node) bool) {
	out := n.Content[:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if keep(n.Content[i], n.Content[i+1]) {
			out = append(out, n.Content[i], n.Content[i+1])
		}
	}
	n.Content = out
}
