package email_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"
	"github.com/leadsync/leadsync/sinks/sinktest"
	"github.com/leadsync/leadsync/sync/lead"
)

// johnDoe is SPEC's example lead, as Hemnet sends it.
func johnDoe() sinks.Delivery {
	d := sinktest.Sample(1)
	l := *d.Lead
	s := lead.Str
	l.Test = false
	l.Person = lead.Person{FirstName: s("John"), LastName: s("Doe"), FullName: s("John Doe"),
		Email: s("john@example.com"), Phone: s("070111222333"),
		Address: &lead.Address{Street: s("Test street 12A"), City: s("Testköping")}}
	l.Interest.Message = s("I am interested in this property <script>alert(1)</script>")
	l.Interest.Listing = &lead.Listing{ID: s("12345678"), ExternalID: s("abc123def")}
	l.Assignment.Agent = &lead.Agent{ID: s("12345"), Name: s("Anon Ymous"), Email: s("anon@example.com")}
	d.Lead = &l
	d.Body, _ = l.Marshal()
	return d
}

// deliverOne delivers d to a fresh peer and returns the mail it got.
func deliverOne(t *testing.T, d sinks.Delivery, mod ...func(*email.Config)) (sinktest.Mail, *message) {
	t.Helper()
	p := newPeer(t)
	if err := newSink(t, p, mod...).Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	noViolations(t, p)
	mails := p.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	msg, err := parse(mails[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	return mails[0], msg
}

func TestMessage(t *testing.T) {
	d := johnDoe()
	before := time.Now().Add(-time.Second)
	m, msg := deliverOne(t, d)
	h := msg.header
	want := map[string]string{
		"From":                   `"Leadsync" <leads@agency.example>`,
		"To":                     "<office@agency.example>",
		"Reply-To":               `"John Doe" <john@example.com>`,
		"Message-Id":             "<" + d.ID + "@leadsync>",
		"Mime-Version":           "1.0",
		"Auto-Submitted":         "auto-generated",
		"X-Leadsync-Delivery-Id": d.ID,
		"X-Leadsync-Lead-Id":     d.Lead.ID,
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if msg.subject != "New lead: John Doe — listing 12345678" {
		t.Errorf("subject %q", msg.subject)
	}
	if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?utf-8?q?") {
		t.Errorf("raw subject %q is not RFC 2047 encoded", raw)
	}
	if date, err := h.Date(); err != nil || date.Before(before) || date.After(time.Now().Add(time.Second)) {
		t.Errorf("Date %v, %v: not now", date, err)
	}
	if m.From != "leads@agency.example" || len(m.To) != 1 || m.To[0] != testTo || !m.TLS || m.User != testUser {
		t.Errorf("envelope %+v", m)
	}
	for _, s := range []string{"John Doe", "john@example.com", "070111222333", "Test street 12A, Testköping",
		"12345678", "abc123def", "Anon Ymous", "anon@example.com", "hemnet", d.Lead.ID, d.ID,
		"I am interested in this property <script>alert(1)</script>"} {
		if !strings.Contains(msg.text, s) {
			t.Errorf("text part lacks %q:\n%s", s, msg.text)
		}
	}
	for _, s := range []string{"John Doe", `href="mailto:john@example.com"`, `href="tel:070111222333"`,
		"Testköping", "12345678", "Anon Ymous", d.ID, "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(msg.html, s) {
			t.Errorf("html part lacks %q:\n%s", s, msg.html)
		}
	}
	if strings.Contains(msg.html, "<script>") {
		t.Error("html part carries the lead's markup unescaped")
	}
}

func TestTestLeadSaysSo(t *testing.T) {
	_, msg := deliverOne(t, sinktest.Sample(1)) // a sandbox lead
	if !strings.HasPrefix(msg.subject, "[TEST] New lead: Åsa Öberg") {
		t.Errorf("subject %q", msg.subject)
	}
	if !strings.Contains(msg.text, "TEST") || !strings.Contains(msg.html, "TEST") {
		t.Error("body does not say it is a test")
	}
}

func TestHeadingFollowsAction(t *testing.T) {
	for action, want := range map[string]string{lead.ActionUpdated: "Updated lead: ", lead.ActionDeleted: "Deleted lead: "} {
		d := johnDoe()
		d.Lead.Action = action
		if _, msg := deliverOne(t, d); !strings.HasPrefix(msg.subject, want) {
			t.Errorf("%s: subject %q", action, msg.subject)
		}
	}
}

func TestMessageIDStableAcrossRedelivery(t *testing.T) {
	p := newPeer(t)
	s := newSink(t, p)
	d := johnDoe()
	for range 2 {
		if err := s.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	other := sinktest.Sample(9)
	if err := s.Deliver(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	got := p.Received()
	if len(got) != 3 {
		t.Fatalf("%d mails", len(got))
	}
	if got[0].ID != d.ID || got[1].ID != d.ID {
		t.Errorf("Message-IDs of a delivery and its repeat: %q, %q; want %q", got[0].ID, got[1].ID, d.ID)
	}
	if got[2].ID != other.ID {
		t.Errorf("another delivery's Message-ID %q", got[2].ID)
	}
	noViolations(t, p)
}

func TestMessageIDOfOddIDs(t *testing.T) {
	if got := email.MessageID("msg_01hx"); got != "<msg_01hx@leadsync>" {
		t.Errorf("MessageID = %q", got)
	}
	odd := email.MessageID("a b<c>@d")
	if !messageID.MatchString(odd) || odd != email.MessageID("a b<c>@d") || odd == email.MessageID("a b<c>@e") {
		t.Errorf("MessageID of an odd id = %q: not a stable valid id", odd)
	}
}

func TestHeaderInjection(t *testing.T) {
	d := johnDoe()
	d.Lead.Person.FullName = lead.Str("Eve\r\nBcc: victim@example.com\r\nX-Evil: 1")
	d.Lead.Interest.Listing.ID = lead.Str("1\nBcc: x@example.com")
	m, msg := deliverOne(t, d)
	if len(msg.header["Bcc"]) > 0 || len(msg.header["X-Evil"]) > 0 {
		t.Errorf("lead data made headers: %v", msg.header)
	}
	if strings.ContainsAny(msg.subject, "\r\n") || !strings.HasPrefix(msg.subject, "New lead: Eve Bcc: victim@example.com") {
		t.Errorf("subject %q", msg.subject)
	}
	if len(m.To) != 1 {
		t.Errorf("envelope recipients %v", m.To)
	}
}

func TestLongSubjectIsFolded(t *testing.T) {
	d := johnDoe()
	d.Lead.Person.FullName = lead.Str(strings.Repeat("Åke Öström-Lindqvist ", 20))
	m, msg := deliverOne(t, d)
	if n := len([]rune(msg.subject)); n > 200 || !strings.HasSuffix(msg.subject, "…") {
		t.Errorf("subject of %d characters: %q", n, msg.subject)
	}
	head, _, _ := bytes.Cut(m.Data, []byte("\r\n\r\n"))
	for line := range strings.SplitSeq(string(head), "\r\n") {
		if len(line) > 76 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
}

func TestToAgent(t *testing.T) {
	agent := func(c *email.Config) { c.ToAgent = true }
	t.Run("agent", func(t *testing.T) {
		m, msg := deliverOne(t, johnDoe(), agent)
		if len(m.To) != 1 || m.To[0] != "anon@example.com" || msg.header.Get("To") != `"Anon Ymous" <anon@example.com>` {
			t.Errorf("sent to %v, To %q", m.To, msg.header.Get("To"))
		}
	})
	t.Run("no agent falls back to to", func(t *testing.T) {
		d := johnDoe()
		d.Lead.Assignment.Agent = nil
		if m, _ := deliverOne(t, d, agent); len(m.To) != 1 || m.To[0] != testTo {
			t.Errorf("sent to %v", m.To)
		}
	})
	t.Run("bad agent address falls back to to", func(t *testing.T) {
		d := johnDoe()
		d.Lead.Assignment.Agent.Email = lead.Str("not an address")
		if m, _ := deliverOne(t, d, agent); len(m.To) != 1 || m.To[0] != testTo {
			t.Errorf("sent to %v", m.To)
		}
	})
	t.Run("no agent and no to is permanent", func(t *testing.T) {
		p := newPeer(t)
		d := johnDoe()
		d.Lead.Assignment.Agent = nil
		err := newSink(t, p, agent, func(c *email.Config) { c.To = nil }).Deliver(t.Context(), d)
		if !sinks.IsPermanent(err) || !strings.Contains(err.Error(), "no recipient") {
			t.Errorf("Deliver = %v", err)
		}
		if n := p.Requests(); n != 0 {
			t.Errorf("%d connections for nothing to send", n)
		}
	})
}

func TestSeveralRecipients(t *testing.T) {
	m, msg := deliverOne(t, johnDoe(), func(c *email.Config) {
		c.To = []string{"Office <office@agency.example>", "Sälj Avdelningen <sales@agency.example>"}
	})
	if len(m.To) != 2 || m.To[1] != "sales@agency.example" {
		t.Errorf("envelope %v", m.To)
	}
	to, err := msg.header.AddressList("To")
	if err != nil || len(to) != 2 || to[1].Name != "Sälj Avdelningen" {
		t.Errorf("To %v, %v", to, err)
	}
}

func TestTemplateOverrides(t *testing.T) {
	_, msg := deliverOne(t, johnDoe(), func(c *email.Config) {
		c.Subject = "Lead {{.LeadID}} for {{.AgentName}}"
		c.TextTemplate = "Call {{.Who}} on {{.Phone}}."
		c.HTMLTemplate = "<p>Call <b>{{.Who}}</b>: {{.Lead.Interest.Message}}</p>"
	})
	if msg.subject != "Lead ld_sample0001 for Anon Ymous" {
		t.Errorf("subject %q", msg.subject)
	}
	if msg.text != "Call John Doe on 070111222333." {
		t.Errorf("text %q", msg.text)
	}
	if msg.html != "<p>Call <b>John Doe</b>: I am interested in this property &lt;script&gt;alert(1)&lt;/script&gt;</p>" {
		t.Errorf("html %q", msg.html)
	}
}

func TestEmptyLeadStillMails(t *testing.T) {
	d := sinktest.Sample(1)
	d.Lead = &lead.Lead{ID: "ld_x", Action: lead.ActionCreated}
	d.Body, _ = d.Lead.Marshal()
	_, msg := deliverOne(t, d)
	if msg.subject != "New lead: Someone" {
		t.Errorf("subject %q", msg.subject)
	}
	if msg.header.Get("Reply-To") != "" {
		t.Error("Reply-To without an address")
	}
}

func TestPreview(t *testing.T) {
	p := newPeer(t)
	s := newSink(t, p)
	d := johnDoe()
	d.Lead = nil // decoded from Body
	out, err := s.Preview(d)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := parse(out)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	if msg.subject != "New lead: John Doe — listing 12345678" {
		t.Errorf("Preview: subject %q", msg.subject)
	}
	if p.Requests() != 0 {
		t.Error("Preview connected")
	}
}
