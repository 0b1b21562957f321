package sinktest_test

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/sinks/sinktest"
)

const (
	user = "mailer"
	pass = "hunter2-long"
	mail = "From: a@example.com\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\nSubject: hi\r\n\r\nbody\r\n"
)

// dial opens a raw conversation with p, its greeting read.
func dial(t *testing.T, p *sinktest.SMTPPeer) *textproto.Conn {
	t.Helper()
	c, err := textproto.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	expect(t, c, 220)
	return c
}

// send sends line and checks the reply code.
func send(t *testing.T, c *textproto.Conn, line string, code int) {
	t.Helper()
	if err := c.PrintfLine("%s", line); err != nil {
		t.Fatal(err)
	}
	expect(t, c, code)
}

func expect(t *testing.T, c *textproto.Conn, code int) {
	t.Helper()
	got, msg, err := c.ReadResponse(0)
	if err != nil || got != code {
		t.Fatalf("reply %d %q (%v), want %d", got, msg, err, code)
	}
}

// violated checks that the peer recorded a violation mentioning want.
func violated(t *testing.T, p *sinktest.SMTPPeer, want string) {
	t.Helper()
	for _, v := range p.Violations() {
		if strings.Contains(v.Error(), want) {
			return
		}
	}
	t.Errorf("violations %v, want one about %q", p.Violations(), want)
}

func TestSMTPPeerHappyPath(t *testing.T) {
	p := sinktest.NewSMTPPeer(t, sinktest.SMTPConfig{Username: user, Password: pass})
	c, err := smtp.Dial(p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := p.ClientTLS()
	tc.ServerName = "localhost"
	steps := []func() error{
		func() error { return c.Hello("client.example") },
		func() error { return c.StartTLS(tc) },
		func() error { return c.Auth(smtp.PlainAuth("", user, pass, p.Host())) },
		func() error { return c.Mail("a@example.com") },
		func() error { return c.Rcpt("b@example.com") },
		func() error {
			w, err := c.Data()
			if err != nil {
				return err
			}
			_, _ = w.Write([]byte(mail + ".starts with a dot\r\n"))
			return w.Close()
		},
		c.Quit,
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
	}
	m := p.Mails()
	if len(m) != 1 || m[0].From != "a@example.com" || m[0].To[0] != "b@example.com" || !m[0].TLS || m[0].User != user ||
		!strings.HasSuffix(string(m[0].Data), "\r\n.starts with a dot\r\n") {
		t.Errorf("mails %+v", m)
	}
	if v := p.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
}

func TestSMTPPeerRefusesAuthBeforeStartTLS(t *testing.T) {
	p := sinktest.NewSMTPPeer(t, sinktest.SMTPConfig{Username: user, Password: pass})
	c := dial(t, p)
	send(t, c, "EHLO client.example", 250)
	send(t, c, "AUTH PLAIN "+base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)), 538)
	violated(t, p, "AUTH before STARTTLS")
	send(t, c, "MAIL FROM:<a@example.com>", 530)
	violated(t, p, "MAIL in plain text")
}

func TestSMTPPeerOrder(t *testing.T) {
	p := sinktest.NewSMTPPeer(t, sinktest.SMTPConfig{TLS: "none"})
	c := dial(t, p)
	send(t, c, "MAIL FROM:<a@example.com>", 503)
	violated(t, p, "MAIL before EHLO")
	send(t, c, "EHLO client.example", 250)
	send(t, c, "STARTTLS", 502)
	violated(t, p, "STARTTLS where it was not offered")
	send(t, c, "DATA", 503)
	violated(t, p, "DATA before RCPT")
	send(t, c, "RCPT TO:<b@example.com>", 503)
	violated(t, p, "RCPT before MAIL")
	send(t, c, "MAIL FROM:<a@example.com> BODY=8BITMIME", 555)
	violated(t, p, "MAIL parameter BODY")
	send(t, c, "AUTH PLAIN", 503)
	violated(t, p, "AUTH where it was not offered")
}

func TestSMTPPeerChecksData(t *testing.T) {
	p := sinktest.NewSMTPPeer(t, sinktest.SMTPConfig{TLS: "none"})
	c := dial(t, p)
	send(t, c, "EHLO client.example", 250)
	send(t, c, "MAIL FROM:<a@example.com>", 250)
	send(t, c, "RCPT TO:<b@example.com>", 250)
	send(t, c, "DATA", 354)
	raw := "Subject: lädan\r\n\r\nbare\nLF\r\n" + strings.Repeat("x", 1200) + "\r\n.\r\n"
	if _, err := c.W.WriteString(raw); err != nil || c.W.Flush() != nil {
		t.Fatal(err)
	}
	expect(t, c, 250)
	for _, want := range []string{"bare LF", "8-bit", "message line of", "From headers"} {
		violated(t, p, want)
	}
}

func TestSMTPPeerImplicitTLSAndLogin(t *testing.T) {
	p := sinktest.NewSMTPPeer(t, sinktest.SMTPConfig{TLS: "tls", Username: user, Password: pass, Mechanisms: []string{"LOGIN"}})
	conn, err := tls.Dial("tcp", p.Addr(), p.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	c := textproto.NewConn(conn)
	defer c.Close()
	expect(t, c, 220)
	send(t, c, "EHLO client.example", 250)
	send(t, c, "AUTH PLAIN", 504) // not offered
	send(t, c, "AUTH LOGIN", 334)
	send(t, c, base64.StdEncoding.EncodeToString([]byte(user)), 334)
	send(t, c, base64.StdEncoding.EncodeToString([]byte("wrong")), 535)
	send(t, c, "AUTH LOGIN "+base64.StdEncoding.EncodeToString([]byte(user)), 334)
	send(t, c, base64.StdEncoding.EncodeToString([]byte(pass)), 235)
	send(t, c, "MAIL FROM:<a@example.com>", 250)
}

func TestSMTPPeerScriptAndAnswers(t *testing.T) {
	p := sinktest.NewSMTPPeer(t, sinktest.SMTPConfig{TLS: "none"})
	p.Script("rcpt", "", "550 5.1.1 no such user")
	c := dial(t, p)
	send(t, c, "EHLO client.example", 250)
	send(t, c, "MAIL FROM:<a@example.com>", 250)
	send(t, c, "RCPT TO:<b@example.com>", 250)
	send(t, c, "RCPT TO:<c@example.com>", 550)
	p.Answer(sinktest.Unavailable)
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	tc := textproto.NewConn(c2)
	expect(t, tc, 421)
	if _, err := tc.ReadLine(); err == nil {
		t.Error("connection open after 421")
	}
	if n := p.Requests(); n != 2 {
		t.Errorf("Requests = %d, want 2 connections", n)
	}
	if v := p.Violations(); len(v) != 0 {
		t.Errorf("violations %v", v)
	}
}
