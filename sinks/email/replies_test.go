package email_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"
	"github.com/leadsync/leadsync/sinks/sinktest"
)

// TestReplies: every reply a server may give at every step, and the class
// of error it makes.
func TestReplies(t *testing.T) {
	cases := []struct {
		cmd       string
		replies   []string
		permanent bool
		code      int
		command   string
	}{
		{sinktest.SMTPGreeting, []string{"421 4.3.2 Service not available"}, false, 421, "greeting"},
		{sinktest.SMTPGreeting, []string{"554 5.7.1 No SMTP service here"}, true, 554, "greeting"},
		{"STARTTLS", []string{"454 4.7.0 TLS not available due to temporary reason"}, false, 454, "STARTTLS"},
		{"AUTH", []string{"454 4.7.0 Temporary authentication failure"}, false, 454, "AUTH"},
		{"AUTH", []string{"534 5.7.9 Authentication mechanism is too weak"}, false, 534, "AUTH"}, // our configuration: leads wait
		{"AUTH", []string{"535 5.7.8 Authentication credentials invalid"}, false, 535, "AUTH"},
		{"MAIL", []string{"451 4.3.0 Mail server temporarily rejected message"}, false, 451, "MAIL FROM"},
		{"MAIL", []string{"553 5.7.1 Sender address rejected: not owned by user"}, true, 553, "MAIL FROM"},
		{"RCPT", []string{"450 4.2.1 Mailbox busy"}, false, 450, "RCPT TO:<office@agency.example>"},
		{"RCPT", []string{"550 5.1.1 User unknown"}, true, 550, "RCPT TO:<office@agency.example>"},
		{"RCPT", []string{"552 5.5.3 Too many recipients"}, false, 552, "RCPT TO:<office@agency.example>"},
		{"RCPT", []string{"", "550 5.1.1 User unknown"}, true, 550, "RCPT TO:<sales@agency.example>"},
		{"DATA", []string{"451 4.3.0 Try again"}, false, 451, "DATA"},
		{"DATA", []string{"554 5.5.1 No valid recipients"}, true, 554, "DATA"},
		{sinktest.SMTPEndOfData, []string{"451 4.7.1 Greylisted, try again in 5 minutes"}, false, 451, "end of data"},
		{sinktest.SMTPEndOfData, []string{"552 5.3.4 Message size exceeds fixed limit"}, true, 552, "end of data"},
		{sinktest.SMTPEndOfData, []string{"554 5.7.1 Spam message rejected"}, true, 554, "end of data"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s", c.command, c.replies[len(c.replies)-1][:3]), func(t *testing.T) {
			p := newPeer(t)
			p.Script(c.cmd, c.replies...)
			s := newSink(t, p, func(c *email.Config) { c.To = []string{testTo, "sales@agency.example"} })
			err := s.Deliver(t.Context(), sinktest.Sample(1))
			var re *email.ReplyError
			if !errors.As(err, &re) {
				t.Fatalf("Deliver = %v, want a ReplyError", err)
			}
			if sinks.IsPermanent(err) != c.permanent {
				t.Errorf("Deliver = %v, permanent %v, want %v", err, sinks.IsPermanent(err), c.permanent)
			}
			last := c.replies[len(c.replies)-1]
			if re.Code != c.code || re.Command != c.command || re.Reply != last[4:] {
				t.Errorf("ReplyError %+v, want %d to %s with %q", re, c.code, c.command, last[4:])
			}
			if n := len(p.Mails()); n != 0 {
				t.Errorf("%d mails despite the refusal: delivery is all or nothing", n)
			}
			noViolations(t, p)
		})
	}
}

// TestRepliesKeepCredentialsOut: a server that echoes what it was sent.
func TestRepliesKeepCredentialsOut(t *testing.T) {
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPass))
	for _, echo := range []string{
		"535 5.7.8 Authentication failed for " + testUser + " with " + testPass,
		"535 5.7.8 Bad credentials: AUTH PLAIN " + plain,
		"535 5.7.8 Bad password " + base64.StdEncoding.EncodeToString([]byte(testPass)),
	} {
		p := newPeer(t)
		p.Script("AUTH", echo)
		err := newSink(t, p).Deliver(t.Context(), sinktest.Sample(1))
		if err == nil {
			t.Fatal("Deliver succeeded despite the refusal")
		}
		for _, secret := range []string{testPass, plain, base64.StdEncoding.EncodeToString([]byte(testPass))} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q carries a credential", err)
			}
		}
	}
}

func TestReplyIsBoundedOneLine(t *testing.T) {
	p := newPeer(t)
	p.Script(sinktest.SMTPEndOfData, "554 5.7.1 "+strings.Repeat("é", 400))
	err := newSink(t, p).Deliver(t.Context(), sinktest.Sample(1))
	var re *email.ReplyError
	if !errors.As(err, &re) || len(re.Reply) > email.MaxReply || !strings.HasSuffix(re.Reply, "…") {
		t.Errorf("reply of %d bytes: %q", len(re.Reply), re.Reply)
	}
}

func TestLogsNoCredentialsOrPersonalData(t *testing.T) {
	var logs bytes.Buffer
	p := newPeer(t)
	s := newSink(t, p, func(c *email.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.ToAgent = true
	})
	d := johnDoe()
	d.Lead.Assignment.Agent.Email = nil // a fallback, which is logged
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	d.Lead.Assignment.Agent.Email = strPtr("bad address")
	if err := s.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "email sent") {
		t.Errorf("no debug line: %s", logs.String())
	}
	for _, s := range []string{testUser, testPass, "John", "john@example.com", "070111222333", testTo, "bad address"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log shows %q:\n%s", s, logs.String())
		}
	}
}

func strPtr(s string) *string { return &s }

// TestReplyWithheldFromLogs: the engine logs a failed delivery's error with
// the peer's answer (sinks.Answer) cut out of it, so that an SMTP reply
// echoing the assigned agent's address stays in the dead letter only. That
// needs the answer to be part of the error's text as it stands.
func TestReplyWithheldFromLogs(t *testing.T) {
	p := newPeer(t)
	p.Script("RCPT", "550 5.1.1 <anon@example.com>: Recipient address rejected")
	s := newSink(t, p, func(c *email.Config) { c.ToAgent = true })
	err := s.Deliver(t.Context(), johnDoe())
	_, answer := sinks.Answer(err)
	if !strings.Contains(answer, "Recipient address rejected") {
		t.Fatalf("answer %q of %v", answer, err)
	}
	logged := strings.ReplaceAll(err.Error(), answer, "[withheld]")
	if strings.Contains(logged, "anon@example.com") || !strings.Contains(logged, "RCPT TO:<assigned agent>") {
		t.Errorf("logged as %q", logged)
	}
}
