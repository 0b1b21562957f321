package email

// Classifying the outcome of an SMTP conversation into the error classes of
// the Sink contract. RFC 5321 4.2.1: 4yz is a transient failure, 5yz a
// permanent one.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/leadsync/leadsync/sinks"
)

// MaxReply bounds ReplyError.Reply in bytes: dead letters keep it, logs
// print it.
const MaxReply = 256

// ReplyError is an SMTP server's refusal: the command it answered, the
// reply code and the reply's text as one line of at most MaxReply bytes,
// credentials removed. Deliver returns it wrapped by sinks.Permanent for a
// permanent reply; find it with errors.As.
type ReplyError struct {
	Command string // "MAIL FROM", "RCPT TO:<office@agency.example>", "end of data"…
	Code    int
	Reply   string // e.g. "5.1.1 <office@agency.example>: Recipient address rejected"
}

// Error reads "smtp RCPT TO:<…>: 550 5.1.1 …".
func (e *ReplyError) Error() string {
	return "smtp " + e.Command + ": " + strconv.Itoa(e.Code) + " " + e.Reply
}

// Permanent reports whether retrying cannot help: a 5yz reply, except 552
// to RCPT, which RFC 5321 4.5.3.1.10 says to treat as 452 (too many
// recipients for now), and any refusal of AUTH (535 bad credentials, 534 or
// 538 a mechanism or TLS the server wants): that is our configuration, the
// same for every lead, so the leads wait for the operator to fix the
// password (as the API sinks wait for a token) rather than all go to the
// dead letters.
func (e *ReplyError) Permanent() bool {
	switch {
	case e.Code == 552 && strings.HasPrefix(e.Command, "RCPT"):
		return false
	case e.CredentialsRefused():
		return false
	}
	return e.Code >= 500 && e.Code <= 599
}

// CredentialsRefused reports a refusal of AUTH, whatever its code (see
// sinks.CredentialsRefused).
func (e *ReplyError) CredentialsRefused() bool { return e.Command == "AUTH" }

// fail classifies err from step of the conversation:
//
//   - ctx done: its error (Canceled means leadsync is stopping), prefixed
//     "timeout: " when the deadline passed;
//   - a reply: *ReplyError, Permanent for 5yz, else retryable;
//   - a timeout or connection failure: retryable.
func (s *Sink) fail(ctx context.Context, step string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		detail := s.scrub(err.Error())
		var te *textproto.Error
		if errors.As(err, &te) {
			// A reply that came with the deadline: this error is logged
			// whole, and a reply may echo the assigned agent's address.
			detail = "reply " + strconv.Itoa(te.Code)
		}
		e := fmt.Errorf("smtp %s: %w (%s)", step, cerr, detail)
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("timeout: %w", e)
		}
		return e
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		re := &ReplyError{Command: step, Code: te.Code, Reply: s.scrub(te.Msg)}
		if re.Permanent() {
			return sinks.Permanent(re)
		}
		return re
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// The connection's deadline is ctx's: it can pass a moment before
		// ctx says so.
		return fmt.Errorf("timeout: smtp %s: %w (%s)", step, context.DeadlineExceeded, err)
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// scrub makes a server's text one bounded line without credentials: some
// servers echo what they were sent.
func (s *Sink) scrub(text string) string {
	for _, v := range s.redact {
		text = strings.ReplaceAll(text, v, "***")
	}
	text = oneLine(text)
	if len(text) > MaxReply {
		text = strings.ToValidUTF8(text[:MaxReply-len("…")], "") + "…"
	}
	return text
}

// PeerStatus implements sinks.PeerAnswer: the SMTP reply code.
func (e *ReplyError) PeerStatus() int { return e.Code }

// PeerResponse implements sinks.PeerAnswer: the reply. It is a substring of
// Error(), which the engine logs with it cut out (a reply may echo the
// assigned agent's address); the command stays in the text.
func (e *ReplyError) PeerResponse() string { return e.Reply }
