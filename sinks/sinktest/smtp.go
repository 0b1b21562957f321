package sinktest

// SMTPPeer: a real SMTP server on a loopback port, for the email sink and
// for end-to-end tests that route a lead to it. It speaks enough of RFC 5321
// (EHLO, STARTTLS per RFC 3207, AUTH PLAIN and LOGIN per RFC 4954, MAIL,
// RCPT, DATA) to be a strict peer: what a careful submission server would
// refuse, it refuses and records as a violation.

import (
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

// SMTPConfig configures an SMTPPeer.
type SMTPConfig struct {
	// TLS is how the peer offers TLS: "starttls" (the default; MAIL and
	// AUTH are refused before STARTTLS), "tls" (implicit TLS from the first
	// byte) or "none" (plain text throughout, as a loopback relay).
	TLS string
	// Username and Password are the only credentials AUTH accepts. With
	// both empty the peer offers no AUTH and takes mail from anyone; else
	// MAIL before a successful AUTH is a violation.
	Username, Password string
	// Mechanisms are the AUTH mechanisms offered; default PLAIN and LOGIN.
	Mechanisms []string
	// Accept checks each message as its recipient would (headers, MIME
	// structure) and returns what it carried. An error is a violation and
	// the peer answers 554. Nil takes any message, with no delivery id.
	Accept func(m Mail) (Received, error)
}

// Mail is one message as an SMTPPeer received it.
type Mail struct {
	From string   // MAIL FROM address, without brackets
	To   []string // RCPT TO addresses, in order
	Data []byte   // the message, CRLF line ends, dot-stuffing undone
	TLS  bool     // whether the transaction ran under TLS
	User string   // the authenticated user; "" without AUTH
}

// Silence is a scripted reply that never comes: the peer reads nothing more
// and answers nothing until the client hangs up.
const Silence = "(silence)"

// SMTP commands Script can override, besides the verbs themselves (EHLO,
// STARTTLS, AUTH, MAIL, RCPT, DATA): the greeting and the reply to the end
// of the message data.
const (
	SMTPGreeting  = "greeting"
	SMTPEndOfData = "."
)

// SMTPPeer is a Peer served over SMTP on 127.0.0.1. Addr is "host:port".
// How each Answer sounds in SMTP:
//
//   - Unavailable: 421 as the greeting, then the connection closes;
//   - RateLimited: 450 4.7.1 to MAIL (SMTP has no Retry-After);
//   - BadRequest: 554 5.6.0 to the end of the data;
//   - Hang: Silence after the end of the data, the worst moment.
//
// Requests counts connections. Its methods are safe for concurrent use.
type SMTPPeer struct {
	cfg SMTPConfig
	ln  net.Listener
	srv *tls.Config
	wg  sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	conns      map[net.Conn]struct{}
	answer     Answer
	script     map[string][]string
	mails      []Mail
	received   []Received
	requests   int
	violations []error
}

var _ Peer = (*SMTPPeer)(nil)

// NewSMTPPeer starts an SMTP peer on a loopback port and stops it when t
// ends. Its certificate is signed by a CA made for this test process, which
// ClientTLS trusts.
func NewSMTPPeer(t testing.TB, cfg SMTPConfig) *SMTPPeer {
	t.Helper()
	if cfg.TLS == "" {
		cfg.TLS = "starttls"
	}
	if !slices.Contains([]string{"starttls", "tls", "none"}, cfg.TLS) {
		t.Fatalf("sinktest: SMTPConfig.TLS %q", cfg.TLS)
	}
	if cfg.Mechanisms == nil {
		cfg.Mechanisms = []string{"PLAIN", "LOGIN"}
	}
	pki, err := testPKI()
	if err != nil {
		t.Fatalf("sinktest: test certificate: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sinktest: listen: %v", err)
	}
	p := &SMTPPeer{
		cfg: cfg, ln: ln,
		srv:   &tls.Config{Certificates: []tls.Certificate{pki.cert}, MinVersion: tls.VersionTLS12},
		conns: map[net.Conn]struct{}{}, script: map[string][]string{},
	}
	p.wg.Go(p.serve)
	t.Cleanup(p.close)
	return p
}

// serve accepts connections until the listener closes.
func (p *SMTPPeer) serve() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.cfg.TLS == "tls" {
			conn = tls.Server(conn, p.srv)
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = conn.Close()
			return
		}
		p.conns[conn] = struct{}{}
		p.requests++
		p.mu.Unlock()
		p.wg.Go(func() {
			defer p.forget(conn)
			newSession(p, conn).run()
		})
	}
}

func (p *SMTPPeer) forget(conn net.Conn) {
	_ = conn.Close()
	p.mu.Lock()
	delete(p.conns, conn)
	p.mu.Unlock()
}

// close stops accepting, hangs up on every client (freeing silent
// sessions) and waits for the sessions to end.
func (p *SMTPPeer) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// Addr returns "127.0.0.1:<port>".
func (p *SMTPPeer) Addr() string { return p.ln.Addr().String() }

// Host returns the host to connect to: "127.0.0.1".
func (p *SMTPPeer) Host() string { return p.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the port the peer listens on.
func (p *SMTPPeer) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// ClientTLS returns a client TLS config that trusts the peer's certificate
// (valid for localhost, 127.0.0.1 and ::1) and nothing else.
func (p *SMTPPeer) ClientTLS() *tls.Config {
	pki, _ := testPKI() // NewSMTPPeer made it
	return &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
}

// Answer sets how the peer answers from now on.
func (p *SMTPPeer) Answer(a Answer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = a
}

// Script queues replies for cmd (a verb such as "RCPT", or SMTPGreeting or
// SMTPEndOfData): each time cmd comes, the next queued reply is sent instead
// of the normal one and the command has no effect. A reply is one line such
// as "451 4.3.0 try later", Silence, or "" to answer normally (to script
// the second RCPT, say); a 421 closes the connection. Scripted replies come
// before those of Answer.
func (p *SMTPPeer) Script(cmd string, replies ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd = strings.ToUpper(cmd)
	p.script[cmd] = append(p.script[cmd], replies...)
}

// override returns the reply that replaces the normal one for cmd, if any.
func (p *SMTPPeer) override(cmd string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd = strings.ToUpper(cmd)
	if q := p.script[cmd]; len(q) > 0 {
		p.script[cmd] = q[1:]
		return q[0], q[0] != ""
	}
	switch {
	case cmd == strings.ToUpper(SMTPGreeting) && p.answer == Unavailable:
		return "421 4.3.2 Service not available, closing transmission channel", true
	case cmd == "MAIL" && p.answer == RateLimited:
		return "450 4.7.1 Too many messages, slow down", true
	case cmd == SMTPEndOfData && p.answer == BadRequest:
		return "554 5.6.0 Message content rejected", true
	case cmd == SMTPEndOfData && p.answer == Hang:
		return Silence, true
	}
	return "", false
}

// Mails returns the messages answered 250, in order of arrival.
func (p *SMTPPeer) Mails() []Mail {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.mails)
}

// Received returns what Accept made of the messages answered 250.
func (p *SMTPPeer) Received() []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.received)
}

// Requests counts connections.
func (p *SMTPPeer) Requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// Violations returns the protocol and contract violations seen so far.
func (p *SMTPPeer) Violations() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.violations)
}

func (p *SMTPPeer) violation(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.violations = append(p.violations, fmt.Errorf("smtp: "+format, args...))
}

func (p *SMTPPeer) accepted(m Mail, r Received) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mails = append(p.mails, m)
	p.received = append(p.received, r)
}
