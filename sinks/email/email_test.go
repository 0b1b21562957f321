package email_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"
	"github.com/leadsync/leadsync/sinks/sinktest"
)

const (
	testUser = "leads-mailer"
	testPass = "s3cret-Pa55word!"
	testFrom = "Leadsync <leads@agency.example>"
	testTo   = "office@agency.example"
)

// message is a received mail taken apart.
type message struct {
	header  mail.Header
	subject string // decoded
	text    string // decoded from quoted-printable
	html    string
}

var messageID = regexp.MustCompile(`^<[A-Za-z0-9_.-]+@leadsync>$`)

// parse takes a message apart the way a mail client does, and checks what
// every message of this sink must have.
func parse(data []byte) (*message, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	var errs []error
	h := m.Header
	for _, name := range []string{"From", "To", "Subject", "Date", "Message-Id", "Mime-Version", "Content-Type"} {
		if len(h[name]) != 1 {
			errs = append(errs, fmt.Errorf("%d %s headers", len(h[name]), name))
		}
	}
	if _, err := h.Date(); err != nil {
		errs = append(errs, fmt.Errorf("date: %v", err))
	}
	if id := h.Get("Message-Id"); !messageID.MatchString(id) {
		errs = append(errs, fmt.Errorf("message-id %q", id))
	}
	if v := h.Get("Mime-Version"); v != "1.0" {
		errs = append(errs, fmt.Errorf("mime-version %q", v))
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil {
		errs = append(errs, fmt.Errorf("subject: %v", err))
	}
	msg := &message{header: h, subject: subject}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		return nil, errors.Join(append(errs, fmt.Errorf("content-type %q", h.Get("Content-Type")))...)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for i, want := range []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"} {
		p, err := mr.NextPart()
		if err != nil {
			return nil, errors.Join(append(errs, fmt.Errorf("part %d: %v", i+1, err))...)
		}
		if ct := p.Header.Get("Content-Type"); ct != want {
			errs = append(errs, fmt.Errorf("part %d: content-type %q, want %q", i+1, ct, want))
		}
		body, err := io.ReadAll(p) // multipart undoes quoted-printable
		if err != nil {
			errs = append(errs, fmt.Errorf("part %d: %v", i+1, err))
		}
		if i == 0 {
			msg.text = string(body)
		} else {
			msg.html = string(body)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		errs = append(errs, fmt.Errorf("more than two parts: %v", err))
	}
	return msg, errors.Join(errs...)
}

// accept is the recipient's check of each mail: a well-formed message whose
// To header says what the envelope did.
func accept(m sinktest.Mail) (sinktest.Received, error) {
	msg, err := parse(m.Data)
	if err != nil {
		return sinktest.Received{}, err
	}
	to, err := msg.header.AddressList("To")
	if err != nil {
		return sinktest.Received{}, fmt.Errorf("to: %v", err)
	}
	var addrs []string
	for _, a := range to {
		addrs = append(addrs, a.Address)
	}
	if !slices.Equal(addrs, m.To) {
		return sinktest.Received{}, fmt.Errorf("To header %v, envelope %v", addrs, m.To)
	}
	if m.From != "leads@agency.example" {
		return sinktest.Received{}, fmt.Errorf("MAIL FROM %q", m.From)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(msg.header.Get("Message-Id"), "<"), "@leadsync>")
	return sinktest.Received{ID: id, Body: m.Data}, nil
}

// same checks that a received mail shows the delivered lead.
func same(d sinks.Delivery, r sinktest.Received) error {
	msg, err := parse(r.Body)
	if err != nil {
		return err
	}
	p := d.Lead.Person
	var errs []error
	for _, want := range []string{*p.FullName, *p.Email, *p.Phone, d.Lead.ID, d.ID, "Thanks"} {
		if !strings.Contains(msg.text, want) {
			errs = append(errs, fmt.Errorf("text part lacks %q", want))
		}
	}
	if !strings.Contains(msg.subject, *p.FullName) {
		errs = append(errs, fmt.Errorf("subject %q lacks the name", msg.subject))
	}
	if !strings.Contains(msg.html, "&lt;b&gt;&amp;&lt;/b&gt;") || strings.Contains(msg.html, "<b>&</b>") {
		errs = append(errs, errors.New("html part does not escape the message"))
	}
	return errors.Join(errs...)
}

func newPeer(t *testing.T, mod ...func(*sinktest.SMTPConfig)) *sinktest.SMTPPeer {
	c := sinktest.SMTPConfig{Username: testUser, Password: testPass, Accept: accept}
	for _, m := range mod {
		m(&c)
	}
	return sinktest.NewSMTPPeer(t, c)
}

func newSink(t *testing.T, p *sinktest.SMTPPeer, mod ...func(*email.Config)) *email.Sink {
	t.Helper()
	c := email.Config{
		Name: "agents", Host: p.Host(), Port: p.Port(), TLS: email.TLSStartTLS,
		Username: testUser, Password: testPass, From: testFrom, To: []string{testTo},
		TLSConfig: p.ClientTLS(), Logger: slog.New(slog.DiscardHandler),
	}
	for _, m := range mod {
		m(&c)
	}
	s, err := email.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// noViolations fails t if the peer saw the protocol broken.
func noViolations(t *testing.T, p *sinktest.SMTPPeer) {
	t.Helper()
	for _, v := range p.Violations() {
		t.Errorf("peer: %v", v)
	}
}

func TestAcceptance(t *testing.T) {
	for _, mode := range []string{email.TLSStartTLS, email.TLSImplicit, email.TLSNone} {
		t.Run(mode, func(t *testing.T) {
			sinktest.Run(t, sinktest.Harness{
				NewPeer: func(t *testing.T) sinktest.Peer {
					return newPeer(t, func(c *sinktest.SMTPConfig) { c.TLS = mode })
				},
				New: func(t *testing.T, p sinktest.Peer) sinks.Sink {
					return newSink(t, p.(*sinktest.SMTPPeer), func(c *email.Config) { c.TLS = mode })
				},
				// SMTP has no Retry-After: a rate limit is a plain 4xx.
				Answers: []sinktest.Answer{sinktest.Unavailable, sinktest.BadRequest, sinktest.Hang},
				Same:    same,
				Secrets: []string{testPass},
			})
		})
	}
}

func TestRateLimitIsRetryable(t *testing.T) {
	p := newPeer(t)
	p.Answer(sinktest.RateLimited)
	err := newSink(t, p).Deliver(t.Context(), sinktest.Sample(1))
	var re *email.ReplyError
	if !errors.As(err, &re) || re.Code != 450 || sinks.IsPermanent(err) {
		t.Errorf("Deliver = %v, want a retryable 450", err)
	}
}

func TestLoginAuth(t *testing.T) {
	p := newPeer(t, func(c *sinktest.SMTPConfig) { c.Mechanisms = []string{"LOGIN"} })
	if err := newSink(t, p).Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	noViolations(t, p)
	if m := p.Mails(); len(m) != 1 || m[0].User != testUser || !m[0].TLS {
		t.Errorf("mails %+v, want one over TLS as %s", m, testUser)
	}
}

func TestNoAuthConfigured(t *testing.T) {
	p := newPeer(t, func(c *sinktest.SMTPConfig) { c.Username, c.Password = "", "" })
	s := newSink(t, p, func(c *email.Config) { c.Username, c.Password = "", "" })
	if err := s.Deliver(t.Context(), sinktest.Sample(1)); err != nil {
		t.Fatal(err)
	}
	noViolations(t, p)
}

// TestWrongPasswordIsRetried: a 535 to AUTH is the operator's to fix and
// the same for every lead: the leads wait (retried with backoff) rather than
// all go to the dead letters.
func TestWrongPasswordIsRetried(t *testing.T) {
	p := newPeer(t)
	err := newSink(t, p, func(c *email.Config) { c.Password = "not-the-password" }).Deliver(t.Context(), sinktest.Sample(1))
	var re *email.ReplyError
	if err == nil || sinks.IsPermanent(err) || !errors.As(err, &re) || re.Code != 535 || re.Command != "AUTH" {
		t.Fatalf("Deliver = %v, want a retryable 535 to AUTH", err)
	}
	if strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("error %q carries the password", err)
	}
	noViolations(t, p)
}

func TestStartTLSMissingNeverFallsBack(t *testing.T) {
	p := newPeer(t, func(c *sinktest.SMTPConfig) { c.TLS = "none" }) // offers no STARTTLS
	err := newSink(t, p).Deliver(t.Context(), sinktest.Sample(1))
	if !sinks.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Deliver = %v, want a permanent STARTTLS error", err)
	}
	if n := len(p.Mails()); n != 0 {
		t.Errorf("%d mails sent in plain text", n)
	}
	noViolations(t, p)
}

func TestUntrustedCertificate(t *testing.T) {
	for _, mode := range []string{email.TLSStartTLS, email.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			p := newPeer(t, func(c *sinktest.SMTPConfig) { c.TLS = mode })
			s := newSink(t, p, func(c *email.Config) { c.TLS, c.TLSConfig = mode, nil }) // system roots only
			err := s.Deliver(t.Context(), sinktest.Sample(1))
			if err == nil || len(p.Mails()) != 0 {
				t.Fatalf("Deliver = %v to a server with an untrusted certificate", err)
			}
			if sinks.IsPermanent(err) {
				t.Errorf("Deliver = %v; a certificate may be fixed, want retryable", err)
			}
			noViolations(t, p)
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	p := newPeer(t)
	s := newSink(t, p, func(c *email.Config) { c.Port = 1 })
	err := s.Deliver(t.Context(), sinktest.Sample(1))
	if err == nil || sinks.IsPermanent(err) {
		t.Errorf("Deliver = %v, want retryable", err)
	}
}

func TestTimeout(t *testing.T) {
	for _, cmd := range []string{sinktest.SMTPGreeting, "EHLO", "MAIL", "RCPT", sinktest.SMTPEndOfData} {
		t.Run(cmd, func(t *testing.T) {
			p := newPeer(t)
			p.Script(cmd, sinktest.Silence)
			s := newSink(t, p, func(c *email.Config) { c.Timeout = 200 * time.Millisecond })
			start := time.Now()
			err := s.Deliver(t.Context(), sinktest.Sample(1))
			if !errors.Is(err, context.DeadlineExceeded) || sinks.IsPermanent(err) || !strings.HasPrefix(err.Error(), "timeout: ") {
				t.Errorf("Deliver = %v, want a retryable timeout", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("Timeout 200ms, returned after %v", took)
			}
		})
	}
}

func TestDeliverNeedsID(t *testing.T) {
	d := sinktest.Sample(1)
	d.ID = ""
	if err := newSink(t, newPeer(t)).Deliver(t.Context(), d); !sinks.IsPermanent(err) {
		t.Errorf("Deliver without id = %v, want permanent", err)
	}
}

func TestDecodesBodyWithoutLead(t *testing.T) {
	p := newPeer(t)
	d := sinktest.Sample(1)
	d.Lead = nil
	if err := newSink(t, p).Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if got := p.Received(); len(got) != 1 || same(sinktest.Sample(1), got[0]) != nil {
		t.Errorf("received %d mails not showing the lead", len(got))
	}
}
