// Package email is the "email" sink: it mails each lead, as plain text and
// HTML from templates the operator may override, over SMTP — STARTTLS,
// implicit TLS, or plain text to a relay on this machine — with AUTH PLAIN
// or LOGIN, to fixed addresses or to the lead's assigned agent.
//
// # Idempotency
//
// SMTP can neither take a message back nor say whether it already has one,
// so this sink delivers at least once: a message the server accepted but
// whose final reply was lost (a crash, a timeout after the end of the data)
// is sent again on retry. Every attempt of a delivery is built with the same
// Message-ID, <delivery-id@leadsync> (see MessageID), and the same
// X-LeadSync-Delivery-Id header, so that a repeat is recognisable: servers
// and clients that de-duplicate by Message-ID show it once, and filters or
// readers can drop it.
//
// # Failures
//
// An SMTP 4xx reply, a connection failure or a timeout is retryable: the
// dispatcher tries again with backoff. A 5xx reply is permanent (dead
// letter), except 552 to RCPT, which RFC 5321 4.5.3.1.10 says to treat as
// 452, and a refused AUTH (a wrong password: the leads wait for the
// operator rather than all go to the dead letters). The error is a
// *ReplyError holding the command and the server's reply, one bounded line
// with credentials removed. Delivery is all or
// nothing: if any recipient is refused the message goes to none.
package email

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strconv"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// DefaultTimeout bounds one Deliver when Config.Timeout is not set: the
// whole SMTP conversation, connect to QUIT.
const DefaultTimeout = 30 * time.Second

// TLS modes of Config.TLS.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS before anything else; never falls back
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, port 465)
	TLSNone     = "none"     // no TLS at all; only to a loopback host
)

// defaultPorts are the ports of each TLS mode when Config.Port is 0.
var defaultPorts = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}

// Config configures an email sink. Username and Password are credentials:
// Config's String and LogValue leave them out.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// Host is the SMTP server; its certificate must be valid for it.
	Host string
	// Port defaults by TLS: 587 for starttls, 465 for tls, 25 for none.
	Port int
	// TLS is starttls (the default), tls or none; none only for a loopback
	// Host, the one place plain text cannot be read on the way.
	TLS string
	// Username and Password, both or neither, authenticate with AUTH PLAIN
	// (preferred) or LOGIN; they are never sent without TLS except to a
	// loopback address.
	Username, Password string
	// From is the sender, "leads@agency.example" or
	// "Leads <leads@agency.example>".
	From string
	// To are the fixed recipients. With ToAgent they are the fallback.
	To []string
	// ToAgent sends each lead to its assignment.agent.email instead, and to
	// To when the lead has no (valid) agent address.
	ToAgent bool
	// Subject, TextTemplate and HTMLTemplate override the default templates:
	// text/template sources for the subject and the plain-text part, an
	// html/template source for the HTML part. They are executed with Data.
	// The subject is made one line of at most 200 characters.
	Subject, TextTemplate, HTMLTemplate string
	// Timeout bounds one Deliver; default DefaultTimeout. A sooner deadline
	// of Deliver's ctx wins.
	Timeout time.Duration
	// TLSConfig, if set, is the base of the TLS client config (tests: trust
	// a test CA). ServerName defaults to Host.
	TLSConfig *tls.Config
	// Logger receives a debug line per message (never addresses or
	// content); default slog.Default().
	Logger *slog.Logger
}

// String names the sink and its server without credentials.
func (c Config) String() string {
	return fmt.Sprintf("email %q via %s (%s)", c.Name, c.Host, c.TLS)
}

// LogValue implements slog.LogValuer without credentials.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("sink", c.Name), slog.String("host", c.Host),
		slog.Int("port", c.Port), slog.String("tls", c.TLS))
}

// Sink is an email sink. It is safe for concurrent use; each Deliver has a
// connection of its own.
type Sink struct {
	addr      string // host:port
	mode      string
	user      string
	pass      string
	from      *mail.Address
	to        []*mail.Address
	toAgent   bool
	tmpl      *templates
	timeout   time.Duration
	tlsConfig *tls.Config
	helo      string   // the name given in EHLO
	redact    []string // credentials in every form a reply might echo
	log       *slog.Logger
	now       func() time.Time // the clock of the Date header
}

var _ sinks.Sink = (*Sink)(nil)

// New checks c and returns a sink. Errors name the key at fault and never
// quote a credential.
func New(c Config) (*Sink, error) {
	if c.TLS == "" {
		c.TLS = TLSStartTLS
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	from, to, err := c.addresses()
	if err != nil {
		return nil, err
	}
	tmpl, err := parseTemplates(c)
	if err != nil {
		return nil, err
	}
	if c.Port == 0 {
		c.Port = defaultPorts[c.TLS]
	}
	s := &Sink{
		addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), mode: c.TLS, user: c.Username, pass: c.Password,
		from: from, to: to, toAgent: c.ToAgent, tmpl: tmpl,
		timeout: c.Timeout, tlsConfig: clientTLS(c.TLSConfig, c.Host),
		helo: helloName(), redact: credentials(c.Username, c.Password),
		log: c.Logger, now: time.Now,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sink", c.Name)
	return s, nil
}

// clientTLS returns the TLS client config: base or a new one, verifying
// host, TLS 1.2 at least.
func clientTLS(base *tls.Config, host string) *tls.Config {
	c := &tls.Config{}
	if base != nil {
		c = base.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// Deliver mails d to the recipients and classifies the outcome: nil once
// the server accepted the message, a retryable error for a 4xx reply, a
// connection failure or a timeout, Permanent for a 5xx reply or a lead that
// cannot be mailed (no recipient, a template failing on it). It returns
// within Config.Timeout and honours ctx; cancellation comes back as
// context.Canceled. A repeat of d carries the same Message-ID.
func (s *Sink) Deliver(ctx context.Context, d sinks.Delivery) error {
	l, err := leadOf(d)
	if err != nil {
		return sinks.Permanent(err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rcpts, err := s.recipients(l)
	if err != nil {
		return sinks.Permanent(err)
	}
	msg, err := s.compose(d, l, rcpts)
	if err != nil {
		return sinks.Permanent(fmt.Errorf("compose: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.send(ctx, rcpts, msg); err != nil {
		return err
	}
	s.log.Debug("email sent", "delivery_id", d.ID, "attempt", d.Attempt, "recipients", len(rcpts.list))
	return nil
}

// Preview returns the message Deliver would send for d (its Date now),
// without connecting: a dry run for operators. The envelope recipients are
// those of its To header.
func (s *Sink) Preview(d sinks.Delivery) ([]byte, error) {
	l, err := leadOf(d)
	if err != nil {
		return nil, err
	}
	rcpts, err := s.recipients(l)
	if err != nil {
		return nil, err
	}
	return s.compose(d, l, rcpts)
}

// leadOf returns the delivery's lead, decoding Body if the dispatcher did
// not.
func leadOf(d sinks.Delivery) (*lead.Lead, error) {
	if d.ID == "" {
		return nil, errors.New("delivery has no id")
	}
	if d.Lead != nil {
		return d.Lead, nil
	}
	var l lead.Lead
	if err := json.Unmarshal(d.Body, &l); err != nil {
		return nil, fmt.Errorf("lead: %w", err)
	}
	return &l, nil
}

// Close does nothing: a Deliver holds its connection only while it runs.
func (s *Sink) Close() error { return nil }
