package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net"
	"net/url"
	"strconv"
	"time"
)

// rawConn posts unique signed Hemnet webhooks over one keep-alive HTTP/1.1
// connection, like wrk with pre-built requests: the request is one buffer
// made once, in which each send only rewrites the contact id, the timestamp
// and the signature in place, and the answer is read with a bufio.Reader
// (status line, Content-Length, body) rather than by net/http's client. So
// the generator costs the shared CPU less than the servers it measures (the
// table's CPU/req columns show both), instead of more, as net/http's client
// did (~50 µs a request against the bare handler's ~35 µs).
type rawConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
	req  []byte    // the whole request: head, then body
	body []byte    // req's body part
	ts   []byte    // req's X-Timestamp value (13 digits)
	sig  []byte    // req's X-Signature value (64 hex digits)
	id   []byte    // body's contact id digits
	mac  hash.Hash // HMAC-SHA256 with benchKey
	sum  [sha256.Size]byte
}

// A contact id is idPrefix and idDigits digits of the run's sequence
// number: fixed in length, so that every request has the same length.
// templateID is the id in a new request's template.
const (
	idPrefix   = "bench-"
	templateID = idPrefix + "000000000000"
	idDigits   = len(templateID) - len(idPrefix)
)

// benchID is the contact id of sequence number n, in the template's form.
func benchID(n int64) string { return fmt.Sprintf("%s%0*d", idPrefix, idDigits, n) }

// newRawConn builds the request template for the webhook URL u.
func newRawConn(u string) (*rawConn, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	body := benchBody(templateID)
	idAt := bytes.Index(body, []byte(idPrefix)) + len(idPrefix)
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"X-Timestamp: %s\r\nX-Signature: %064x\r\nContent-Length: %d\r\n\r\n", pu.Path, pu.Host, ts, 0, len(body))
	req := append([]byte(head), body...)
	c := &rawConn{addr: pu.Host, req: req, mac: hmac.New(sha256.New, []byte(benchKey))}
	c.body = req[len(head):]
	c.id = c.body[idAt : idAt+idDigits]
	tsAt := bytes.Index(req, []byte("X-Timestamp: ")) + len("X-Timestamp: ")
	c.ts = req[tsAt : tsAt+len(ts)]
	sigAt := bytes.Index(req, []byte("X-Signature: ")) + len("X-Signature: ")
	c.sig = req[sigAt : sigAt+2*sha256.Size]
	return c, nil
}

// post sends webhook number n and returns the answer's status code. Any
// error closes the connection; the next post dials again.
func (c *rawConn) post(n int64) (int, error) {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return 0, err
		}
		c.conn = conn
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 4096)
		} else {
			c.r.Reset(conn)
		}
	}
	for i := len(c.id) - 1; i >= 0; i-- {
		c.id[i] = byte('0' + n%10)
		n /= 10
	}
	// The timestamp keeps its width until the year 2286.
	strconv.AppendInt(c.ts[:0], time.Now().UnixMilli(), 10)
	c.mac.Reset()
	c.mac.Write(c.body)
	hex.Encode(c.sig, c.mac.Sum(c.sum[:0]))
	// A daemon that stalls (a stuck fsync) counts as an error rather than
	// holding the run forever, as net/http's client Timeout did.
	c.conn.SetDeadline(time.Now().Add(postTimeout))
	code, err := c.roundTrip()
	if err != nil {
		c.conn.Close()
		c.conn = nil
	}
	return code, err
}

const postTimeout = 30 * time.Second

var errAnswer = errors.New("malformed answer")

func (c *rawConn) roundTrip() (int, error) {
	if _, err := c.conn.Write(c.req); err != nil {
		return 0, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, errAnswer
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errAnswer
	}
	length, closing := -1, false
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, errAnswer
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil || length < 0 {
				return 0, errAnswer
			}
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	if length < 0 { // both servers answer with a Content-Length
		return 0, errAnswer
	}
	if _, err := c.r.Discard(length); err != nil {
		return 0, err
	}
	if closing {
		return code, errClosing
	}
	return code, nil
}

// errClosing is a complete answer after which the server closes.
var errClosing = errors.New("server closes the connection")

func (c *rawConn) close() {
	if c.conn != nil {
		c.conn.Close()
	}
}
