package email

// Building the message: recipients, RFC 5322 headers (folded, non-ASCII
// encoded per RFC 2047) and a multipart/alternative body of quoted-printable
// text and HTML, so that the whole message is 7-bit and needs neither
// 8BITMIME nor SMTPUTF8 from the server.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// recipients is whom one message goes to.
type recipients struct {
	list  []*mail.Address
	agent bool // the lead's assigned agent rather than Config.To
}

// recipients returns the lead's agent when ToAgent and the lead has a usable
// agent address, else Config.To.
func (s *Sink) recipients(l *lead.Lead) (recipients, error) {
	if s.toAgent {
		a, unusable := agentAddress(l)
		if a != nil {
			return recipients{list: []*mail.Address{a}, agent: true}, nil
		}
		if unusable {
			s.log.Warn("assigned agent's email address is unusable; sending to the fallback addresses", "lead_id", l.ID)
		}
	}
	if len(s.to) == 0 {
		return recipients{}, errors.New("no recipient: the lead has no usable agent email and `to` is empty")
	}
	return recipients{list: s.to}, nil
}

// agentAddress returns the lead's assigned agent as an address, or
// unusable when the lead has an agent email that is not a valid ASCII
// address.
func agentAddress(l *lead.Lead) (a *mail.Address, unusable bool) {
	ag := l.Assignment.Agent
	if ag == nil || ag.Email == nil || strings.TrimSpace(*ag.Email) == "" {
		return nil, false
	}
	parsed, err := mail.ParseAddress(*ag.Email)
	if err != nil || !isASCII(parsed.Address) {
		return nil, true
	}
	return &mail.Address{Name: oneLine(deref(ag.Name)), Address: parsed.Address}, false
}

// MessageID returns the Message-ID of every attempt of a delivery:
// "<deliveryID@leadsync>". An id that is not a valid dot-atom (delivery ids
// are) is replaced by a hash of it, still the same on every attempt.
func MessageID(deliveryID string) string {
	if !isDotAtom(deliveryID) {
		sum := sha256.Sum256([]byte(deliveryID))
		deliveryID = "x" + hex.EncodeToString(sum[:16])
	}
	return "<" + deliveryID + "@leadsync>"
}

// isDotAtom reports whether s is an RFC 5322 dot-atom-text.
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		ok := r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~.", r))
		if !ok {
			return false
		}
	}
	return true
}

// compose renders the templates for d and returns the whole message.
func (s *Sink) compose(d sinks.Delivery, l *lead.Lead, to recipients) ([]byte, error) {
	subject, text, html, err := s.tmpl.render(newData(d, l))
	if err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	mw := multipart.NewWriter(&msg)
	h := headerWriter{&msg}
	h.add("From", s.from.String())
	h.add("To", addressList(to.list))
	if rt := replyTo(l); rt != "" {
		h.add("Reply-To", rt)
	}
	h.add("Subject", mime.QEncoding.Encode("utf-8", subject))
	h.add("Date", s.now().Format(time.RFC1123Z))
	h.add("Message-ID", MessageID(d.ID))
	h.add("MIME-Version", "1.0")
	h.add("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	// RFC 3834: no vacation replies to a machine; the Microsoft header
	// asks Exchange for the same.
	h.add("Auto-Submitted", "auto-generated")
	h.add("X-Auto-Response-Suppress", "All")
	h.add("X-LeadSync-Delivery-Id", asciiLine(d.ID))
	h.add("X-LeadSync-Lead-Id", asciiLine(l.ID))
	msg.WriteString("\r\n")
	if err := writePart(mw, "text/plain; charset=utf-8", text); err != nil {
		return nil, err
	}
	if err := writePart(mw, "text/html; charset=utf-8", html); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return msg.Bytes(), nil
}

// writePart adds one quoted-printable part; line breaks become CRLF.
func writePart(mw *multipart.Writer, contentType, body string) error {
	pw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return err
	}
	qp := quotedprintable.NewWriter(pw)
	if _, err := qp.Write([]byte(body)); err != nil {
		return err
	}
	return qp.Close()
}

// replyTo is the lead's own address, so that answering the mail answers the
// lead; "" when the lead has none that is valid ASCII.
func replyTo(l *lead.Lead) string {
	if l.Person.Email == nil {
		return ""
	}
	a, err := mail.ParseAddress(*l.Person.Email)
	if err != nil || !isASCII(a.Address) {
		return ""
	}
	return (&mail.Address{Name: oneLine(personName(l)), Address: a.Address}).String()
}

func addressList(as []*mail.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// headerWriter writes header fields folded at spaces into lines of at most
// 76 characters where the value allows: RFC 2047 2 limits lines holding
// encoded-words to 76, RFC 5322 2.1.1 asks for 78. A first word too long
// for the line goes on a line of its own, after "Name:".
type headerWriter struct{ b *bytes.Buffer }

const foldAt = 76

func (h headerWriter) add(name, value string) {
	line := name + ":"
	for i, word := range strings.Split(value, " ") {
		if i > 0 && word == "" {
			continue // values are single-spaced; keep folding simple
		}
		if len(line)+1+len(word) > foldAt && len(line) > 0 {
			h.b.WriteString(line + "\r\n")
			line = ""
		}
		line += " " + word
	}
	h.b.WriteString(line + "\r\n")
}

// oneLine makes s safe for one header line or subject: control characters
// (line breaks among them) become spaces, runs of spaces one, ends trimmed.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	return strings.Join(strings.Fields(s), " ")
}

// asciiLine is oneLine with non-ASCII dropped, for raw header values.
func asciiLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x80 {
			return -1
		}
		return r
	}, oneLine(s))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
