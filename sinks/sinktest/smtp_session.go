package sinktest

// One SMTP connection of an SMTPPeer: the command loop and what each
// command must have been preceded by. Every refusal a careful server would
// make is answered with its reply code and recorded as a violation, so that
// a sink which breaks the protocol fails its tests even where a lenient
// server would have let it through.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/mail"
	"slices"
	"strings"
)

// Limits of RFC 5321 4.5.3.1: a command line and a text line, CRLF included.
const (
	maxCommandLine = 512
	maxTextLine    = 1000
	maxData        = 16 << 20
)

type session struct {
	p     *SMTPPeer
	conn  net.Conn
	r     *bufio.Reader
	w     *bufio.Writer
	tls   bool
	hello bool   // EHLO or HELO seen since connect or STARTTLS
	user  string // authenticated as
	from  *string
	to    []string
}

func newSession(p *SMTPPeer, conn net.Conn) *session {
	s := &session{p: p, tls: p.cfg.TLS == "tls"}
	s.use(conn)
	return s
}

func (s *session) use(conn net.Conn) {
	s.conn, s.r, s.w = conn, bufio.NewReader(conn), bufio.NewWriter(conn)
}

// run serves commands until QUIT, a closing reply or the client hangs up.
func (s *session) run() {
	if handled, goOn := s.scripted(SMTPGreeting); handled && !goOn {
		return
	} else if !handled && s.send("220 localhost ESMTP leadsync-sinktest") != nil {
		return
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !s.handle(strings.ToUpper(verb), arg) {
			return
		}
	}
}

// handle runs one command and reports whether the session goes on.
func (s *session) handle(verb, arg string) bool {
	switch verb {
	case "EHLO", "HELO":
		return s.ehlo(verb, arg)
	case "STARTTLS":
		return s.startTLS(arg)
	case "AUTH":
		return s.auth(arg)
	case "MAIL":
		return s.mail(arg)
	case "RCPT":
		return s.rcpt(arg)
	case "DATA":
		return s.data(arg)
	case "RSET":
		s.reset()
		return s.send("250 2.0.0 Ok") == nil
	case "NOOP":
		return s.send("250 2.0.0 Ok") == nil
	case "QUIT":
		_ = s.send("221 2.0.0 Bye")
		return false
	}
	return s.refuse("500 5.5.2 Command not recognized", "unknown command %q", verb)
}

// refuse records a violation and answers reply.
func (s *session) refuse(reply, format string, args ...any) bool {
	s.p.violation(format, args...)
	return s.send(reply) == nil
}

// scripted sends the reply that overrides cmd's, if any: handled says
// whether there was one, goOn whether the session continues after it.
func (s *session) scripted(cmd string) (handled, goOn bool) {
	reply, ok := s.p.override(cmd)
	if !ok {
		return false, true
	}
	if reply == Silence {
		// Wait for the client to give up (or cleanup to close the conn).
		_, _ = io.Copy(io.Discard, s.conn)
		return true, false
	}
	err := s.send(reply)
	return true, err == nil && !strings.HasPrefix(reply, "421")
}

func (s *session) reset() { s.from, s.to = nil, nil }

func (s *session) credentials() bool { return s.p.cfg.Username != "" || s.p.cfg.Password != "" }

func (s *session) ehlo(verb, arg string) bool {
	if strings.TrimSpace(arg) == "" {
		return s.refuse("501 5.5.4 Syntax: "+verb+" hostname", "%s without a hostname", verb)
	}
	if handled, goOn := s.scripted(verb); handled {
		return goOn
	}
	s.reset()
	s.hello = true
	if verb == "HELO" {
		return s.send("250 localhost") == nil
	}
	lines := []string{"localhost greets " + arg, "ENHANCEDSTATUSCODES", "SIZE 10485760"}
	if s.p.cfg.TLS == "starttls" && !s.tls {
		lines = append(lines, "STARTTLS")
	}
	if s.credentials() && (s.tls || s.p.cfg.TLS == "none") {
		lines = append(lines, "AUTH "+strings.Join(s.p.cfg.Mechanisms, " "))
	}
	for i := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		lines[i] = "250" + sep + lines[i]
	}
	return s.send(lines...) == nil
}

func (s *session) startTLS(arg string) bool {
	switch {
	case s.p.cfg.TLS != "starttls" || s.tls:
		return s.refuse("502 5.5.1 STARTTLS not available", "STARTTLS where it was not offered")
	case !s.hello:
		return s.refuse("503 5.5.1 EHLO first", "STARTTLS before EHLO")
	case arg != "":
		return s.refuse("501 5.5.4 Syntax: STARTTLS", "STARTTLS with arguments")
	case s.r.Buffered() > 0:
		// RFC 3207 5: what follows STARTTLS in the same read came in clear.
		s.p.violation("commands pipelined after STARTTLS")
	}
	if handled, goOn := s.scripted("STARTTLS"); handled {
		return goOn
	}
	if s.send("220 2.0.0 Ready to start TLS") != nil {
		return false
	}
	tc := tls.Server(s.conn, s.p.srv)
	if err := tc.Handshake(); err != nil {
		return false // the client's to judge our certificate; nothing to answer
	}
	s.use(tc)
	// RFC 3207 4.2: forget all that was said before TLS.
	s.tls, s.hello, s.user = true, false, ""
	s.reset()
	return true
}

func (s *session) mail(arg string) bool {
	switch {
	case !s.hello:
		return s.refuse("503 5.5.1 EHLO first", "MAIL before EHLO")
	case s.p.cfg.TLS != "none" && !s.tls:
		return s.refuse("530 5.7.0 Must issue a STARTTLS command first", "MAIL in plain text")
	case s.credentials() && s.user == "":
		return s.refuse("530 5.7.0 Authentication required", "MAIL before AUTH")
	case s.from != nil:
		return s.refuse("503 5.5.1 Nested MAIL command", "MAIL inside a transaction")
	}
	addr, params, ok := parsePath(arg, "FROM:")
	if !ok {
		return s.refuse("501 5.5.4 Syntax: MAIL FROM:<address>", "MAIL syntax: %q", arg)
	}
	for _, p := range params {
		if name, _, _ := strings.Cut(strings.ToUpper(p), "="); name != "SIZE" {
			return s.refuse("555 5.5.4 Unsupported option: "+name, "MAIL parameter %s was not offered", name)
		}
	}
	if handled, goOn := s.scripted("MAIL"); handled {
		return goOn
	}
	s.from = &addr
	return s.send("250 2.1.0 Ok") == nil
}

func (s *session) rcpt(arg string) bool {
	if s.from == nil {
		return s.refuse("503 5.5.1 Need MAIL before RCPT", "RCPT before MAIL")
	}
	addr, params, ok := parsePath(arg, "TO:")
	if !ok || addr == "" || len(params) > 0 {
		return s.refuse("501 5.5.4 Syntax: RCPT TO:<address>", "RCPT syntax: %q", arg)
	}
	if handled, goOn := s.scripted("RCPT"); handled {
		return goOn
	}
	s.to = append(s.to, addr)
	return s.send("250 2.1.5 Ok") == nil
}

func (s *session) data(arg string) bool {
	switch {
	case len(s.to) == 0:
		return s.refuse("503 5.5.1 Need RCPT before DATA", "DATA before RCPT")
	case arg != "":
		return s.refuse("501 5.5.4 Syntax: DATA", "DATA with arguments")
	}
	if handled, goOn := s.scripted("DATA"); handled {
		return goOn
	}
	if s.send("354 End data with <CR><LF>.<CR><LF>") != nil {
		return false
	}
	data, err := s.readData()
	if err != nil {
		return false
	}
	m := Mail{From: *s.from, To: s.to, Data: data, TLS: s.tls, User: s.user}
	s.reset()
	checkMessage(s.p, data)
	rec, verr := Received{Body: data}, error(nil)
	if s.p.cfg.Accept != nil {
		rec, verr = s.p.cfg.Accept(m)
	}
	if verr != nil {
		s.p.violation("message: %v", verr)
	}
	if handled, goOn := s.scripted(SMTPEndOfData); handled {
		return goOn
	}
	if verr != nil {
		return s.send("554 5.6.0 Message rejected") == nil
	}
	s.p.accepted(m, rec)
	return s.send("250 2.0.0 Ok: queued") == nil
}

// parsePath parses "FROM:<addr> PARAM…" (or "TO:"), as RFC 5321 4.1.2
// writes it: no space after the colon, the path in angle brackets.
func parsePath(arg, prefix string) (addr string, params []string, ok bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, false
	}
	rest := arg[len(prefix):]
	end := strings.IndexByte(rest, '>')
	if !strings.HasPrefix(rest, "<") || end < 0 {
		return "", nil, false
	}
	return rest[1:end], strings.Fields(rest[end+1:]), true
}

// readLine reads one command line; a bare LF or an overlong line is a
// violation.
func (s *session) readLine() (string, error) {
	line, err := s.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		s.p.violation("line ends in a bare LF: %q", line)
	}
	if len(line) > maxCommandLine {
		s.p.violation("command line of %d bytes", len(line))
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readData reads the message up to the lone ".", undoing dot-stuffing.
func (s *session) readData() ([]byte, error) {
	var data bytes.Buffer
	for {
		line, err := s.r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			s.p.violation("message line ends in a bare LF")
		}
		if len(line) > maxTextLine {
			s.p.violation("message line of %d bytes (limit %d)", len(line), maxTextLine)
		}
		line = bytes.TrimRight(line, "\r\n")
		if string(line) == "." {
			return data.Bytes(), nil
		}
		line = bytes.TrimPrefix(line, []byte("."))
		if data.Len()+len(line) > maxData {
			s.p.violation("message over %d bytes", maxData)
			return nil, io.ErrShortBuffer
		}
		data.Write(line)
		data.WriteString("\r\n")
	}
}

// checkMessage checks what every message must be without 8BITMIME or
// SMTPUTF8, which the peer does not offer: 7-bit, RFC 5322 headers with
// From and Date.
func checkMessage(p *SMTPPeer, data []byte) {
	if i := slices.IndexFunc(data, func(b byte) bool { return b >= 0x80 || b == 0 }); i >= 0 {
		p.violation("8-bit or NUL byte at offset %d without 8BITMIME", i)
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		p.violation("not an RFC 5322 message: %v", err)
		return
	}
	for _, h := range []string{"From", "Date"} {
		if len(m.Header[h]) != 1 {
			p.violation("%d %s headers, want 1", len(m.Header[h]), h)
		}
	}
}

// send writes reply lines, CRLF-terminated.
func (s *session) send(lines ...string) error {
	for _, l := range lines {
		_, _ = s.w.WriteString(l + "\r\n")
	}
	return s.w.Flush()
}
