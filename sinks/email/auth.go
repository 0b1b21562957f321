package email

// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) or LOGIN, spoken on the
// client's textproto connection rather than through smtp.Client.Auth, which
// refuses PLAIN to any unencrypted host not named "localhost" and, after a
// final failure reply, sends a stray "*" that strict servers reject. The
// one policy decision is made here: credentials go only over TLS, or to a
// peer whose address is loopback.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"

	"github.com/leadsync/leadsync/sinks"
)

// authenticate picks PLAIN, else LOGIN, from what the server offers.
func (s *Sink) authenticate(ctx context.Context, c *smtp.Client, conn net.Conn) error {
	if _, encrypted := c.TLSConnectionState(); !encrypted && !loopbackPeer(conn) {
		return sinks.Permanent(errors.New("smtp AUTH: refusing to send credentials without TLS to a host that is not loopback"))
	}
	ok, offered := c.Extension("AUTH")
	if !ok {
		return sinks.Permanent(errors.New("smtp AUTH: the server offers no AUTH, but a username and password are configured"))
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	var err error
	switch {
	case slices.Contains(mechs, "PLAIN"):
		err = exchange(c.Text, "PLAIN", []byte("\x00"+s.user+"\x00"+s.pass), nil)
	case slices.Contains(mechs, "LOGIN"):
		err = exchange(c.Text, "LOGIN", nil, []string{s.user, s.pass})
	default:
		return sinks.Permanent(fmt.Errorf("smtp AUTH: the server offers %q, neither PLAIN nor LOGIN", cut(oneLine(offered), 80)))
	}
	if err != nil {
		return s.fail(ctx, "AUTH", err)
	}
	return nil
}

// loopbackPeer reports whether conn's far end is a loopback address.
func loopbackPeer(conn net.Conn) bool {
	addr, ok := conn.RemoteAddr().(*net.TCPAddr)
	return ok && addr.IP.IsLoopback()
}

// exchange runs "AUTH mech [initial]" and answers each 334 challenge with
// the next of answers (LOGIN's username, then password). A final reply
// other than 235 comes back as a *textproto.Error; an unexpected challenge
// is cancelled with "*" as RFC 4954 4 says.
func exchange(t *textproto.Conn, mech string, initial []byte, answers []string) error {
	line := "AUTH " + mech
	if initial != nil {
		line += " " + base64.StdEncoding.EncodeToString(initial)
	}
	code, msg, err := command(t, line)
	for err == nil && code == 334 {
		if len(answers) == 0 {
			if _, _, err := command(t, "*"); err != nil {
				return err
			}
			return fmt.Errorf("unexpected challenge in AUTH %s", mech)
		}
		code, msg, err = command(t, base64.StdEncoding.EncodeToString([]byte(answers[0])))
		answers = answers[1:]
	}
	switch {
	case err != nil:
		return err
	case code != 235:
		return &textproto.Error{Code: code, Msg: msg}
	}
	return nil
}

// command sends one line and reads the reply, whatever its code.
func command(t *textproto.Conn, line string) (int, string, error) {
	id, err := t.Cmd("%s", line)
	if err != nil {
		return 0, "", err
	}
	t.StartResponse(id)
	defer t.EndResponse(id)
	return t.ReadResponse(0)
}
