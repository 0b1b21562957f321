package config

import (
	"net/netip"
	"reflect"
)

// IPPresets are the names allow_ips accepts besides addresses and CIDRs:
// the addresses Hemnet documents sending webhooks from.
var IPPresets = map[string][]string{
	"hemnet-production": {"52.215.23.149/32", "52.48.66.139/32", "52.18.194.163/32"},
	"hemnet-sandbox":    {"34.252.42.223/32", "54.72.180.48/32", "34.249.104.221/32"},
}

var (
	sourceType = reflect.TypeFor[Source]()
	sinkType   = reflect.TypeFor[Sink]()
)

// AllowedPrefixes returns allow_ips with presets expanded; empty means any
// address is allowed.
func (s *Source) AllowedPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range s.AllowIPs {
		if preset, ok := IPPresets[v]; ok {
			out = append(out, prefixes(preset)...)
		} else {
			out = append(out, prefixes([]string{v})...)
		}
	}
	return out
}

// TrustedProxyPrefixes returns trusted_proxies as prefixes.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix { return prefixes(c.TrustedProxies) }

// prefixes parses values Load has already validated, so it skips rather
// than fails on a bad one (which only a hand-built Config can hold).
func prefixes(vs []string) []netip.Prefix {
	var out []netip.Prefix
	for _, v := range vs {
		if p, err := parsePrefix(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}
