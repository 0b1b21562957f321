package email

// Checking a Config. Each error names its key as the config file spells it
// and never quotes a credential.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"os"
	"strings"
)

// check checks c, whose TLS New has defaulted.
func (c Config) check() error {
	switch {
	case c.Host == "":
		return errors.New("host: is required")
	case strings.ContainsAny(c.Host, " /@\r\n\t"):
		return fmt.Errorf("host: %q is not a host name", c.Host)
	case c.Port < 0 || c.Port > 65535:
		return errors.New("port: must be from 1 to 65535")
	case defaultPorts[c.TLS] == 0:
		return fmt.Errorf("tls: must be starttls, tls or none, not %q", c.TLS)
	case c.TLS == TLSNone && !isLoopbackHost(c.Host):
		return fmt.Errorf("tls: none is only allowed for a loopback host, not %q", c.Host)
	case (c.Username == "") != (c.Password == ""):
		return errors.New("password: username and password go together")
	case strings.ContainsAny(c.Username, "\x00\r\n"):
		return errors.New("username: must not contain NUL or line breaks")
	case strings.ContainsAny(c.Password, "\x00\r\n"):
		return errors.New("password: must not contain NUL or line breaks")
	case len(c.To) == 0 && !c.ToAgent:
		return errors.New("to: to or to_agent is required")
	}
	return nil
}

// addresses parses From and To.
func (c Config) addresses() (from *mail.Address, to []*mail.Address, err error) {
	if from, err = parseAddress(c.From); err != nil {
		return nil, nil, fmt.Errorf("from: %w", err)
	}
	for i, s := range c.To {
		a, err := parseAddress(s)
		if err != nil {
			return nil, nil, fmt.Errorf("to[%d]: %w", i, err)
		}
		to = append(to, a)
	}
	return from, to, nil
}

// parseAddress parses one RFC 5322 address, which must be ASCII: the sink
// does not use SMTPUTF8, which not every server offers.
func parseAddress(s string) (*mail.Address, error) {
	if s == "" {
		return nil, errors.New("is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not an email address", s)
	}
	if !isASCII(a.Address) {
		return nil, fmt.Errorf("%q: the address (not its name) must be ASCII", s)
	}
	return a, nil
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether host names this machine, as the config
// checker judges it: "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.IsLoopback()
}

// helloName is the name given in EHLO: this machine's host name when it is
// a valid one, else "localhost".
func helloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > 253 || strings.Trim(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != "" {
		return "localhost"
	}
	return h
}

// credentials lists the forms of the credentials a server's reply might
// echo: as is, and base64 as AUTH sent them. Very short ones are left out:
// they would blank out ordinary words.
func credentials(user, pass string) []string {
	b64 := base64.StdEncoding.EncodeToString
	var out []string
	for _, v := range []string{pass, user, b64([]byte("\x00" + user + "\x00" + pass)), b64([]byte(pass)), b64([]byte(user))} {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	return out
}
