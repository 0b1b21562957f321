package config

import (
	"encoding/base64"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Checks of single values, shared by sources and sinks.

// got quotes a rejected value for a message, or says nothing when it is
// empty.
func got(v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf(", not %q", v)
}

// oneOf checks that v is one of allowed.
func (c *checker) oneOf(path, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.errorf(path, "must be one of %s%s", strings.Join(allowed, ", "), got(v))
	}
}

// nonEmpty checks that no entry of a list is empty.
func (c *checker) nonEmpty(path string, list []string) {
	for i, v := range list {
		if v == "" {
			c.errorf(indexed(path, i), "must not be empty")
		}
	}
}

// secrets checks that no entry of a list of secrets is empty.
func (c *checker) secrets(path string, list []Secret) {
	for i, s := range list {
		if !s.IsSet() {
			c.errorf(indexed(path, i), "must not be empty")
		}
	}
}

// required checks that a secret is given.
func (c *checker) required(path string, s Secret) {
	if !s.IsSet() {
		c.errorf(path, "is required")
	}
}

// ipOrCIDR checks an address or prefix, or with presets a Hemnet preset.
func (c *checker) ipOrCIDR(path, v string, presets bool) {
	if presets {
		if _, ok := IPPresets[v]; ok {
			return
		}
	}
	if _, err := parsePrefix(v); err != nil {
		want := "an IP address or CIDR"
		if presets {
			want = "hemnet-production, hemnet-sandbox, " + want
		}
		c.errorf(path, "must be %s%s", want, got(v))
	}
}

// httpURL checks an absolute http or https URL, unless empty (required-ness
// is checked by the caller).
func (c *checker) httpURL(path, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// A refused reload logs this error, so the value is never shown: a
		// password or token may be in it (user info, query, or the path, as
		// in Slack and Zapier hook URLs). The scheme is safe to name only
		// when it is written as one ("ftp://…"): without "//", the parser
		// takes "user:password@host" for a scheme named after the user.
		shown := " (value not shown: it may hold credentials)"
		switch {
		case err != nil || u.User != nil:
		case u.Scheme == "" || !strings.HasPrefix(v, u.Scheme+"://"):
			shown = " (it has no http:// or https://; value not shown: it may hold credentials)"
		case u.Scheme != "http" && u.Scheme != "https":
			shown = fmt.Sprintf(", not a %q URL", u.Scheme)
		default:
			shown = " (it has no host)"
		}
		c.errorf(path, "must be an absolute http or https URL%s", shown)
		return
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			c.errorf(path, "port %s is not a TCP port (1–65535)", p)
		}
	}
}

// requiredURL checks an http(s) URL that must be given.
func (c *checker) requiredURL(path, v string) {
	if v == "" {
		c.errorf(path, "is required")
		return
	}
	c.httpURL(path, v)
}

// whsec checks a Standard Webhooks secret: "whsec_" and base64. The message
// never quotes the value.
func (c *checker) whsec(path string, s Secret) {
	if !s.IsSet() || !s.known() {
		return
	}
	rest, ok := strings.CutPrefix(s.Reveal(), "whsec_")
	if b, err := base64.StdEncoding.DecodeString(rest); !ok || err != nil || len(b) == 0 {
		c.errorf(path, "must be whsec_ followed by base64 (%s)", s.Source())
	}
}

// headerName checks an HTTP header name (an RFC 9110 token), unless empty.
func (c *checker) headerName(path, v string) {
	if v != "" && strings.IndexFunc(v, func(r rune) bool { return !isTokenChar(r) }) >= 0 {
		c.errorf(path, "must be an HTTP header name%s", got(v))
	}
}

func isTokenChar(r rune) bool {
	return r < 127 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

// address checks an email address (a bare one or "Name <addr>").
func (c *checker) address(path, v string) {
	if _, err := mail.ParseAddress(v); err != nil {
		c.errorf(path, "must be an email address%s", got(v))
	}
}

// parsePrefix accepts a CIDR or a single address (as a /32 or /128).
func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}
