package email

// The SMTP conversation of one delivery, on net/smtp over a connection this
// file dials and owns, so that ctx bounds every read and write: the
// connection's deadline is ctx's, and cancellation moves it to the past.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"time"

	"github.com/leadsync/leadsync/sinks"
)

// quitWait bounds the polite QUIT after the server accepted the message:
// the lead is delivered by then, and a server slow to say goodbye must not
// hold a dispatcher slot.
const quitWait = time.Second

// send runs one SMTP transaction: connect, EHLO, STARTTLS, AUTH, MAIL, RCPT
// for each recipient, DATA. The message is delivered once the server
// answers the end of the data with 250; nothing after that can fail it.
func (s *Sink) send(ctx context.Context, to recipients, msg []byte) error {
	conn, err := s.dial(ctx)
	if err != nil {
		return s.fail(ctx, "connect", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, s.tlsConfig.ServerName)
	if err != nil {
		return s.fail(ctx, "greeting", err)
	}
	if err := s.open(ctx, c, conn); err != nil {
		return err
	}
	if err := s.transact(ctx, c, to, msg); err != nil {
		return err
	}
	if stop() {
		_ = conn.SetDeadline(time.Now().Add(quitWait))
		_ = c.Quit()
	}
	return nil
}

// dial connects, with TLS from the first byte in implicit mode.
func (s *Sink) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.mode == TLSImplicit {
		return (&tls.Dialer{NetDialer: d, Config: s.tlsConfig}).DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// open says EHLO, upgrades to TLS in starttls mode and authenticates.
func (s *Sink) open(ctx context.Context, c *smtp.Client, conn net.Conn) error {
	if err := c.Hello(s.helo); err != nil {
		return s.fail(ctx, "EHLO", err)
	}
	if s.mode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			// Never go on in plain text: that is what a downgrade attack
			// looks like, and it will not fix itself by retrying.
			return sinks.Permanent(errors.New("smtp STARTTLS: the server does not offer STARTTLS; tls: starttls refuses to go on in plain text"))
		}
		if err := c.StartTLS(s.tlsConfig); err != nil {
			return s.fail(ctx, "STARTTLS", err)
		}
	}
	if s.user == "" {
		return nil
	}
	return s.authenticate(ctx, c, conn)
}

// transact sends the envelope and the message.
func (s *Sink) transact(ctx context.Context, c *smtp.Client, to recipients, msg []byte) error {
	if err := c.Mail(s.from.Address); err != nil {
		return s.fail(ctx, "MAIL FROM", err)
	}
	for _, a := range to.list {
		if err := c.Rcpt(a.Address); err != nil {
			cmd := "RCPT TO:<" + a.Address + ">"
			if to.agent {
				cmd = "RCPT TO:<assigned agent>"
			}
			return s.fail(ctx, cmd, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return s.fail(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return s.fail(ctx, "end of data", err)
	}
	return nil
}
