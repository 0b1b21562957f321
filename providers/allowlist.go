package providers

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
)

// allowlistPresets are the names an allow_ips entry may use instead of
// addresses. The Hemnet lists are copied from Hemnet's webhook documentation,
// which warns that they may grow: a preset keeps that knowledge in one place
// instead of in every operator's config file.
var allowlistPresets = map[string][]string{
	"hemnet-production": {"52.215.23.149", "52.48.66.139", "52.18.194.163"},
	"hemnet-sandbox":    {"34.252.42.223", "54.72.180.48", "34.249.104.221"},
}

// presetAddrs are allowlistPresets parsed, once.
var presetAddrs = func() map[string][]netip.Addr {
	m := make(map[string][]netip.Addr, len(allowlistPresets))
	for name, ips := range allowlistPresets {
		for _, ip := range ips {
			m[name] = append(m[name], netip.MustParseAddr(ip))
		}
	}
	return m
}()

// InPreset reports whether ip is one of the addresses of the named preset
// (hemnet-sandbox, …); false for an unknown name. It runs on every Hemnet
// webhook: nothing is parsed.
func InPreset(name string, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, a := range presetAddrs[name] {
		if a == ip {
			return true
		}
	}
	return false
}

// Allowlist is the set of client addresses a source accepts webhooks from.
// The zero value and nil both allow every address. It is immutable once
// built and so safe for concurrent use.
type Allowlist struct {
	prefixes []netip.Prefix
	entries  []string
}

// ParseAllowlist builds an Allowlist from config entries, each a preset name
// (hemnet-production, hemnet-sandbox), a CIDR ("10.0.0.0/8", "2001:db8::/32")
// or a single address, IPv4 or IPv6. No entries means every address is
// allowed. Errors name each bad entry by index and value.
func ParseAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{entries: append([]string(nil), entries...)}
	var errs []error
	for i, e := range entries {
		if ips, ok := presetAddrs[strings.TrimSpace(e)]; ok {
			for _, ip := range ips {
				a.prefixes = append(a.prefixes, netip.PrefixFrom(ip, 32))
			}
			continue
		}
		p, err := parsePrefix(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d] %q: %w (or a preset: %s)", i, e, err, presetNames()))
			continue
		}
		a.prefixes = append(a.prefixes, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

// ParsePrefixes parses CIDRs or single addresses (no presets), as for
// trusted_proxies. Addresses are normalized as in ParseAllowlist, so that the
// result can be given to ClientIP.
func ParsePrefixes(entries []string) ([]netip.Prefix, error) {
	var (
		out  []netip.Prefix
		errs []error
	)
	for i, e := range entries {
		p, err := parsePrefix(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("[%d] %q: %w", i, e, err))
			continue
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// parsePrefix parses a CIDR or a single address into a masked prefix in
// canonical form: IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes plain IPv4 and
// zones are dropped, because Allows and ClientIP compare unmapped, zoneless
// addresses and a mapped entry would otherwise silently never match.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address or CIDR")
		}
		addr = addr.WithZone("").Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR")
	}
	if addr := p.Addr(); addr.Is4In6() {
		if p.Bits() < 96 {
			// Wider than the mapped range: it covers IPv6 proper too and has
			// no IPv4 equivalent. Refuse rather than guess.
			return netip.Prefix{}, errors.New("IPv4-mapped CIDR shorter than /96")
		}
		p = netip.PrefixFrom(addr.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// presetNames lists the presets for error messages, sorted so that the
// message is stable.
func presetNames() string {
	return strings.Join(slices.Sorted(maps.Keys(allowlistPresets)), ", ")
}

// Allows reports whether addr may send webhooks. An empty or nil list allows
// everything. addr is compared unmapped (a dual-stack listener reports IPv4
// peers as ::ffff:a.b.c.d) and without zone; an invalid addr is refused by a
// non-empty list.
func (a *Allowlist) Allows(addr netip.Addr) bool {
	if a == nil || len(a.prefixes) == 0 {
		return true
	}
	addr = addr.WithZone("").Unmap()
	return containsAddr(a.prefixes, addr)
}

// Empty reports whether the list allows every address.
func (a *Allowlist) Empty() bool { return a == nil || len(a.prefixes) == 0 }

// String returns the entries as configured, for logs and `leadsync status`.
func (a *Allowlist) String() string {
	if a.Empty() {
		return "any"
	}
	return strings.Join(a.entries, ",")
}

func containsAddr(prefixes []netip.Prefix, addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// ClientIP returns the address a webhook came from. remoteAddr is
// http.Request.RemoteAddr ("ip:port", or a bare ip); xff holds the
// X-Forwarded-For header lines in order. X-Forwarded-For is believed only
// when the direct peer is in trusted: anyone can write the header, so only a
// proxy we run may vouch for it. The list is then walked right to left (each
// proxy appends the address it saw) past every trusted proxy, and the first
// untrusted address is the client. When every hop is trusted, the leftmost
// one is returned; an unparseable hop stops the walk at the last trusted
// address, so that garbage never becomes a client address. The result is
// unmapped and zoneless; it is the zero Addr when remoteAddr is unparseable.
// trusted is expected in the canonical form ParsePrefixes returns.
func ClientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer := parseHost(remoteAddr)
	if !peer.IsValid() || !containsAddr(trusted, peer) {
		return peer
	}
	cur := peer
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			h := strings.TrimSpace(hops[j])
			if h == "" {
				continue // "a, , b" or a trailing comma: nothing was appended
			}
			addr := parseHost(h)
			if !addr.IsValid() {
				return cur
			}
			cur = addr
			if !containsAddr(trusted, addr) {
				return addr
			}
		}
	}
	return cur
}

// parseHost parses "ip", "ip:port", "[ipv6]:port" or "[ipv6]" (some proxies
// add ports or brackets to X-Forwarded-For) into an unmapped, zoneless
// address, or the zero Addr.
func parseHost(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap()
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	if addr, err := netip.ParseAddr(s); err == nil {
		return addr.WithZone("").Unmap()
	}
	return netip.Addr{}
}
