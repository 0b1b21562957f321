package sinktest

// AUTH on an SMTPPeer (RFC 4954): PLAIN (RFC 4616) and LOGIN, offered only
// under TLS unless the peer runs without it, and only the configured
// credentials accepted.

import (
	"encoding/base64"
	"slices"
	"strings"
)

func (s *session) auth(arg string) bool {
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	switch {
	case !s.hello:
		return s.refuse("503 5.5.1 EHLO first", "AUTH before EHLO")
	case !s.credentials():
		return s.refuse("503 5.5.1 AUTH not available", "AUTH where it was not offered")
	case s.p.cfg.TLS != "none" && !s.tls:
		return s.refuse("538 5.7.11 Encryption required for requested authentication mechanism",
			"AUTH before STARTTLS: credentials in plain text")
	case s.user != "":
		return s.refuse("503 5.5.1 Already authenticated", "AUTH twice")
	case !slices.Contains(s.p.cfg.Mechanisms, mech):
		return s.refuse("504 5.5.4 Unrecognized authentication type", "AUTH %s was not offered", mech)
	}
	if handled, goOn := s.scripted("AUTH"); handled {
		return goOn
	}
	var user, pass string
	var ok bool
	if mech == "PLAIN" {
		user, pass, ok = s.plain(initial)
	} else {
		user, pass, ok = s.login(initial)
	}
	switch {
	case !ok:
		return s.send("501 5.5.2 Cannot decode response") == nil
	case user != s.p.cfg.Username || pass != s.p.cfg.Password:
		return s.send("535 5.7.8 Authentication credentials invalid") == nil
	}
	s.user = user
	return s.send("235 2.7.0 Authentication successful") == nil
}

// plain reads an AUTH PLAIN exchange (RFC 4616): "authzid\0user\0pass".
func (s *session) plain(initial string) (user, pass string, ok bool) {
	resp, ok := s.response(initial, "")
	parts := strings.Split(resp, "\x00")
	if !ok || len(parts) != 3 {
		return "", "", false
	}
	return parts[1], parts[2], true
}

// login reads an AUTH LOGIN exchange: username and password prompted for
// one at a time, the first possibly sent with the command.
func (s *session) login(initial string) (user, pass string, ok bool) {
	user, ok = s.response(initial, "Username:")
	if !ok {
		return "", "", false
	}
	pass, ok = s.response("", "Password:")
	return user, pass, ok
}

// response returns the decoded client response: initial when given, else
// one read after a 334 challenge. "*" cancels; "=" is an empty response.
func (s *session) response(initial, challenge string) (string, bool) {
	line := initial
	if line == "" {
		if s.send("334 "+base64.StdEncoding.EncodeToString([]byte(challenge))) != nil {
			return "", false
		}
		var err error
		if line, err = s.readLine(); err != nil || line == "*" {
			return "", false
		}
	}
	if line == "=" {
		return "", true
	}
	b, err := base64.StdEncoding.DecodeString(line)
	return string(b), err == nil
}
