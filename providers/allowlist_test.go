package providers_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/providers"
)

func mustAllowlist(t testing.TB, entries ...string) *providers.Allowlist {
	t.Helper()
	a, err := providers.ParseAllowlist(entries)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAllowlistAllows(t *testing.T) {
	cases := []struct {
		entries []string
		allow   []string
		deny    []string
	}{
		{entries: nil, allow: []string{"1.2.3.4", "2001:db8::1"}},
		{entries: []string{}, allow: []string{"1.2.3.4"}},
		{
			entries: []string{"hemnet-production"},
			allow:   []string{"52.215.23.149", "52.48.66.139", "52.18.194.163", "::ffff:52.48.66.139"},
			deny:    []string{"34.252.42.223", "52.215.23.150", "127.0.0.1"},
		},
		{
			entries: []string{"hemnet-sandbox"},
			allow:   []string{"34.252.42.223", "54.72.180.48", "34.249.104.221"},
			deny:    []string{"52.215.23.149"},
		},
		{
			entries: []string{" hemnet-production ", "hemnet-sandbox"},
			allow:   []string{"52.215.23.149", "34.249.104.221"},
		},
		{
			entries: []string{"10.0.0.0/8", "192.168.1.7"},
			allow:   []string{"10.0.0.0", "10.255.255.255", "192.168.1.7", "::ffff:10.1.2.3"},
			deny:    []string{"11.0.0.1", "192.168.1.8", "::a00:1"},
		},
		{entries: []string{"10.1.2.3/8"}, allow: []string{"10.9.9.9"}}, // host bits masked
		{
			entries: []string{"2001:db8::/32", "fe80::1%eth0"},
			allow:   []string{"2001:db8:ffff::1", "fe80::1", "fe80::1%eth1"},
			deny:    []string{"2001:db9::1", "fe80::2", "32.1.13.184"},
		},
		{
			entries: []string{"::ffff:10.0.0.1", "::ffff:172.16.0.0/108"},
			allow:   []string{"10.0.0.1", "::ffff:10.0.0.1", "172.16.5.5"},
			deny:    []string{"10.0.0.2", "172.32.0.1"},
		},
		{entries: []string{"::/0"}, allow: []string{"2001:db8::1"}, deny: []string{"1.2.3.4"}},
		{entries: []string{"0.0.0.0/0"}, allow: []string{"1.2.3.4", "::ffff:1.2.3.4"}, deny: []string{"::1"}},
	}
	for _, c := range cases {
		a := mustAllowlist(t, c.entries...)
		for _, s := range c.allow {
			if !a.Allows(netip.MustParseAddr(s)) {
				t.Errorf("%q does not allow %s", c.entries, s)
			}
		}
		for _, s := range c.deny {
			if a.Allows(netip.MustParseAddr(s)) {
				t.Errorf("%q allows %s", c.entries, s)
			}
		}
	}
}

func TestAllowlistEmptyAndInvalid(t *testing.T) {
	var nilList *providers.Allowlist
	if !nilList.Allows(netip.Addr{}) || !nilList.Empty() || nilList.String() != "any" {
		t.Error("a nil Allowlist must allow everything")
	}
	if !mustAllowlist(t).Allows(netip.Addr{}) {
		t.Error("an empty Allowlist must allow everything, even an unknown address")
	}
	a := mustAllowlist(t, "0.0.0.0/0", "::/0")
	if a.Allows(netip.Addr{}) {
		t.Error("a non-empty Allowlist allowed an invalid address")
	}
	if a.Empty() || a.String() != "0.0.0.0/0,::/0" {
		t.Errorf("Empty, String = %v, %q", a.Empty(), a.String())
	}
}

func TestParseAllowlistErrors(t *testing.T) {
	_, err := providers.ParseAllowlist([]string{"hemnet-production", "hemnet", "10.0.0.0/33", "", "::ffff:0:0/80", "1.2.3.4"})
	if err == nil {
		t.Fatal("ParseAllowlist accepted bad entries")
	}
	msg := err.Error()
	for _, want := range []string{
		`[1] "hemnet": not an IP address or CIDR (or a preset: hemnet-production, hemnet-sandbox)`,
		`[2] "10.0.0.0/33": not an IP address or CIDR`,
		`[3] "": not an IP address or CIDR`,
		`[4] "::ffff:0:0/80": IPv4-mapped CIDR shorter than /96`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "[0]") || strings.Contains(msg, "[5]") {
		t.Errorf("error %q names a good entry", msg)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := providers.ParsePrefixes([]string{"127.0.0.1", "10.1.0.0/16", "::1", "::ffff:192.168.0.0/112"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1/32", "10.1.0.0/16", "::1/128", "192.168.0.0/16"}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d = %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := providers.ParsePrefixes([]string{"hemnet-production"}); err == nil {
		t.Error("ParsePrefixes accepted a preset")
	}
}

func TestClientIP(t *testing.T) {
	trusted, err := providers.ParsePrefixes([]string{"127.0.0.1", "10.0.0.0/8", "::1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		remote string
		xff    []string
		want   string // "" = invalid
	}{
		{"untrusted peer ignores XFF", "203.0.113.5:1234", []string{"1.2.3.4"}, "203.0.113.5"},
		{"trusted peer, no XFF", "127.0.0.1:5555", nil, "127.0.0.1"},
		{"trusted peer, client", "127.0.0.1:5555", []string{"203.0.113.5"}, "203.0.113.5"},
		{"spoofed left entry ignored", "127.0.0.1:5555", []string{"6.6.6.6, 203.0.113.5"}, "203.0.113.5"},
		{"walks past trusted proxies", "127.0.0.1:5555", []string{"6.6.6.6, 203.0.113.5, 10.0.0.2"}, "203.0.113.5"},
		{"several header lines", "127.0.0.1:5555", []string{"6.6.6.6", "203.0.113.5, 10.0.0.2"}, "203.0.113.5"},
		{"all hops trusted", "127.0.0.1:5555", []string{"10.0.0.3, 10.0.0.2"}, "10.0.0.3"},
		{"garbage stops the walk", "127.0.0.1:5555", []string{"203.0.113.5, garbage"}, "127.0.0.1"},
		{"garbage after trusted hop", "127.0.0.1:5555", []string{"garbage, 10.0.0.2"}, "10.0.0.2"},
		{"garbage left of client", "127.0.0.1:5555", []string{"garbage, 203.0.113.5"}, "203.0.113.5"},
		{"empty entries skipped", "127.0.0.1:5555", []string{"203.0.113.5, , "}, "203.0.113.5"},
		{"empty header", "127.0.0.1:5555", []string{""}, "127.0.0.1"},
		{"port in XFF", "127.0.0.1:5555", []string{"203.0.113.5:80"}, "203.0.113.5"},
		{"bracketed v6 with port", "127.0.0.1:5555", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"bracketed v6", "127.0.0.1:5555", []string{"[2001:db8::1]"}, "2001:db8::1"},
		{"mapped peer and client", "[::ffff:127.0.0.1]:80", []string{"::ffff:203.0.113.5"}, "203.0.113.5"},
		{"mapped trusted hop", "[::1]:80", []string{"203.0.113.5, ::ffff:10.0.0.9"}, "203.0.113.5"},
		{"v6 peer untrusted", "[2001:db8::2]:80", []string{"1.2.3.4"}, "2001:db8::2"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, "fe80::1"},
		{"bare peer address", "127.0.0.1", []string{"203.0.113.5"}, "203.0.113.5"},
		{"unparseable peer", "not-an-address", []string{"203.0.113.5"}, ""},
		{"empty peer", "", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := providers.ClientIP(c.remote, c.xff, trusted)
			if (c.want == "" && got.IsValid()) || (c.want != "" && got.String() != c.want) {
				t.Errorf("ClientIP(%q, %q) = %v, want %q", c.remote, c.xff, got, c.want)
			}
		})
	}
	if got := providers.ClientIP("127.0.0.1:1", []string{"203.0.113.5"}, nil); got.String() != "127.0.0.1" {
		t.Errorf("no trusted proxies: ClientIP = %v, want the peer", got)
	}
}

func FuzzParseAllowlist(f *testing.F) {
	for _, s := range []string{"hemnet-production", "10.0.0.0/8", "::ffff:10.0.0.0/104", "fe80::1%eth0", "1.2.3.4", "", "::/0"} {
		f.Add(s, "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, entry, addr string) {
		a, err := providers.ParseAllowlist([]string{entry})
		if err != nil {
			return
		}
		ip, err := netip.ParseAddr(addr)
		if err != nil {
			return
		}
		allowed := a.Allows(ip)
		// An entry that is exactly an address must allow that address.
		if e, err := netip.ParseAddr(strings.TrimSpace(entry)); err == nil && e.WithZone("").Unmap() == ip.WithZone("").Unmap() && !allowed {
			t.Errorf("%q does not allow %s", entry, ip)
		}
	})
}

func FuzzClientIP(f *testing.F) {
	f.Add("127.0.0.1:1", "6.6.6.6, 203.0.113.5, 10.0.0.2")
	f.Add("[::ffff:127.0.0.1]:80", "[2001:db8::1]:443")
	f.Add("203.0.113.5:1", "1.2.3.4")
	trusted, _ := providers.ParsePrefixes([]string{"127.0.0.1", "10.0.0.0/8", "::1"})
	f.Fuzz(func(t *testing.T, remote, xff string) {
		got := providers.ClientIP(remote, []string{xff}, trusted)
		peer := providers.ClientIP(remote, nil, nil)
		if got.Is4In6() || got.Zone() != "" {
			t.Errorf("ClientIP = %v: not canonical", got)
		}
		// XFF is never believed from an untrusted peer.
		if !peer.IsValid() || !(trusted[0].Contains(peer) || trusted[1].Contains(peer) || trusted[2].Contains(peer)) {
			if got != peer {
				t.Errorf("untrusted peer %v: ClientIP = %v", peer, got)
			}
		}
	})
}
