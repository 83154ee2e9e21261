package loadgen

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// The live sends' HTTP/1.1 client. Go's net/http client cost the load
// generator about 58 µs of CPU per request (a Transport with its read and
// write goroutines per connection, a request and header maps per send,
// cookie jar look-ups, a context per request): more than the collector's
// own work. A load tool needs much less: each worker owns one keep-alive
// connection, writes each request in one write from a reused buffer and
// reads the answer from a bufio.Reader, keeping only what the generator
// checks (status, the Set-Cookie lines, a bounded body).

// maxAnswerBody bounds an answer's body: the collector answers with a few
// dozen bytes; more is refused (and the connection closed).
const maxAnswerBody = 64 << 10

// maxHeaderLines bounds an answer's header; bufio's buffer bounds each line.
const maxHeaderLines = 100

// answer is what the client keeps of a response. Body and SetCookies are
// valid until the connection's next request.
type answer struct {
	status     int
	body       []byte
	setCookies [][]byte // the Set-Cookie values, in order
}

// errAnswer marks an error after the status line was read: the request was
// answered, the answer is unusable.
type errAnswer struct{ err error }

func (e *errAnswer) Error() string { return e.err.Error() }
func (e *errAnswer) Unwrap() error { return e.err }

// conn is one worker's connection to the collector; not safe for concurrent use.
type conn struct {
	addr      string      // host:port to dial
	tlsConfig *tls.Config // nil: plain http
	timeout   time.Duration

	c      net.Conn
	r      *bufio.Reader
	reused bool // c has served a request already

	req        []byte   // the request being written
	body       []byte   // the answer's body
	setCookies [][]byte // slices of cookieBuf
	cookieBuf  []byte
	cookieEnds []int
	// dials counts the connections made, redials those after the first
	// (the previous one failed or was closed by the server).
	dials, redials int64
}

// newConn prepares a client of base (http or https; checked by the caller).
// tlsConfig overrides the default TLS configuration for https (tests).
func newConn(base *url.URL, timeout time.Duration, tlsConfig *tls.Config) *conn {
	c := &conn{addr: hostPort(base), timeout: timeout}
	if base.Scheme == "https" {
		if tlsConfig == nil {
			tlsConfig = &tls.Config{}
		}
		tlsConfig = tlsConfig.Clone()
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = base.Hostname()
		}
		tlsConfig.NextProtos = []string{"http/1.1"} // this client speaks HTTP/1.1 only
		c.tlsConfig = tlsConfig
	}
	return c
}

// hostPort is the address to dial for u: its port, or the scheme's.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dial opens the connection, with the TLS handshake for https.
func (c *conn) dial(deadline time.Time) error {
	d := net.Dialer{Deadline: deadline, KeepAlive: 30 * time.Second}
	nc, err := d.Dial("tcp", c.addr)
	if err != nil {
		return err
	}
	if c.tlsConfig != nil {
		tc := tls.Client(nc, c.tlsConfig)
		_ = tc.SetDeadline(deadline)
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return fmt.Errorf("TLS handshake with %s: %w", c.addr, err)
		}
		nc = tc
	}
	if c.dials > 0 {
		c.redials++
	}
	c.dials++
	c.c, c.reused = nc, false
	if c.r == nil {
		c.r = bufio.NewReaderSize(nc, 4096)
	} else {
		c.r.Reset(nc)
	}
	return nil
}

// close drops the connection; the next request dials again.
func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// do writes the request req (complete: head and body) and reads the answer.
// On any error the connection is closed. A request on a reused connection
// that the server had closed before reading it (no byte of an answer, the
// connection reset or at its end) is sent once more on a new one, as
// net/http's Transport does for a request nothing was written for.
func (c *conn) do(req []byte) (answer, error) {
	deadline := time.Now().Add(c.timeout)
	for attempt := 0; ; attempt++ {
		if c.c == nil {
			if err := c.dial(deadline); err != nil {
				return answer{}, err
			}
		}
		reused := c.reused
		a, err := c.roundTrip(req, deadline)
		if err == nil {
			return a, nil
		}
		c.close()
		var ae *errAnswer
		if attempt == 0 && reused && !errors.As(err, &ae) && closedBeforeAnswer(err) {
			continue
		}
		return a, err
	}
}

// transportError is the message of a request without an answer, without
// the local address (a new port per connection would make every message
// new: failures are counted by message).
func transportError(err error) string {
	if op, ok := err.(*net.OpError); ok {
		msg := op.Op + " " + op.Net
		if op.Addr != nil {
			msg += " " + op.Addr.String()
		}
		return msg + ": " + op.Err.Error()
	}
	return err.Error()
}

// closedBeforeAnswer tells an idle connection the server closed from a
// request that failed.
func closedBeforeAnswer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *conn) roundTrip(req []byte, deadline time.Time) (answer, error) {
	if err := c.c.SetDeadline(deadline); err != nil {
		return answer{}, err
	}
	if _, err := c.c.Write(req); err != nil {
		return answer{}, err
	}
	c.reused = true
	a, keep, err := c.readAnswer()
	if err == nil && !keep {
		c.close()
	}
	return a, err
}

// readAnswer parses one response: the status line, the header (skipping
// 1xx answers), the body to its length. keep is false when the connection
// cannot serve another request (Connection: close, HTTP/1.0, a body that
// ends with the connection).
func (c *conn) readAnswer() (a answer, keep bool, err error) {
	for {
		line, err := c.line()
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return a, false, err
		}
		status, http10, err := parseStatusLine(line)
		if err != nil {
			return a, false, err
		}
		a.status = status
		h, err := c.header()
		if err != nil {
			return a, false, &errAnswer{fmt.Errorf("reading the answer's header: %w", err)}
		}
		if status >= 100 && status < 200 && status != 101 {
			continue // 100 Continue and the like: the answer follows
		}
		keep = !h.close && (!http10 || h.keepAlive)
		a.setCookies = c.setCookies
		switch {
		case status == 204 || status == 304 || (status >= 100 && status < 200):
			a.body = c.body[:0]
		case h.chunked:
			a.body, err = c.readChunked()
		case h.length >= 0:
			if h.length > maxAnswerBody {
				return a, false, &errAnswer{fmt.Errorf("reading the answer: a body of %d bytes, more than the %d allowed", h.length, maxAnswerBody)}
			}
			a.body, err = c.readBody(int(h.length))
		default:
			// No length: the body ends with the connection.
			keep = false
			a.body, err = c.readToEOF()
		}
		if err != nil {
			return a, false, &errAnswer{fmt.Errorf("reading the answer: %w", err)}
		}
		return a, keep, nil
	}
}

// line reads one header line without its line end; an over-long line is an error.
func (c *conn) line() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, fmt.Errorf("an answer line longer than %d bytes", c.r.Size())
	}
	if err != nil {
		return line, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// parseStatusLine reads "HTTP/1.1 202 Accepted".
func parseStatusLine(line []byte) (status int, http10 bool, err error) {
	proto, rest, _ := bytes.Cut(line, []byte{' '})
	code, _, _ := bytes.Cut(rest, []byte{' '})
	switch string(proto) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
	default:
		return 0, false, fmt.Errorf("not an HTTP/1.x answer: %q", clip(line))
	}
	if len(code) != 3 {
		return 0, false, fmt.Errorf("malformed status line %q", clip(line))
	}
	for _, d := range code {
		if d < '0' || d > '9' {
			return 0, false, fmt.Errorf("malformed status line %q", clip(line))
		}
		status = status*10 + int(d-'0')
	}
	return status, http10, nil
}

// header is what the client uses of an answer's header.
type header struct {
	length           int64 // Content-Length; -1: none
	chunked          bool
	close, keepAlive bool // Connection: close / keep-alive
}

// header reads the header lines up to the empty line, keeping the
// Set-Cookie values in c.setCookies.
func (c *conn) header() (header, error) {
	h := header{length: -1}
	c.cookieBuf, c.cookieEnds = c.cookieBuf[:0], c.cookieEnds[:0]
	err := c.fields("header", func(line []byte) error {
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			return fmt.Errorf("malformed header line %q", clip(line))
		}
		value = bytes.TrimSpace(value)
		switch {
		case equalFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (h.length >= 0 && h.length != n) {
				return fmt.Errorf("bad Content-Length %q", clip(value))
			}
			h.length = n
		case equalFold(name, "Transfer-Encoding"):
			if !equalFold(value, "chunked") {
				return fmt.Errorf("unsupported Transfer-Encoding %q", clip(value))
			}
			h.chunked = true
		case equalFold(name, "Connection"):
			for _, opt := range bytes.Split(value, []byte{','}) {
				opt = bytes.TrimSpace(opt)
				h.close = h.close || equalFold(opt, "close")
				h.keepAlive = h.keepAlive || equalFold(opt, "keep-alive")
			}
		case equalFold(name, "Set-Cookie"):
			// The bytes are the reader's: copied to outlive the next read.
			c.cookieBuf = append(c.cookieBuf, value...)
			c.cookieEnds = append(c.cookieEnds, len(c.cookieBuf))
		}
		return nil
	})
	if err != nil {
		return h, err
	}
	c.setCookies = c.setCookies[:0]
	start := 0
	for _, end := range c.cookieEnds {
		c.setCookies = append(c.setCookies, c.cookieBuf[start:end:end])
		start = end
	}
	return h, nil
}

// fields reads the lines of a header or trailer (what) up to the empty
// line, at most maxHeaderLines, calling each for every one (nil: skip).
func (c *conn) fields(what string, each func(line []byte) error) error {
	for n := 0; ; n++ {
		line, err := c.line()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if n == maxHeaderLines {
			return fmt.Errorf("more than %d %s lines", maxHeaderLines, what)
		}
		if each != nil {
			if err := each(line); err != nil {
				return err
			}
		}
	}
}

// readBody reads an n-byte body into c.body.
func (c *conn) readBody(n int) ([]byte, error) {
	if cap(c.body) < n {
		c.body = make([]byte, n)
	}
	c.body = c.body[:n]
	if _, err := io.ReadFull(c.r, c.body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return c.body, nil
}

// readChunked reads a chunked body (at most maxAnswerBody) and its trailer.
func (c *conn) readChunked() ([]byte, error) {
	b, err := c.readLimited(httputil.NewChunkedReader(c.r))
	if err != nil {
		return nil, err
	}
	if err := c.fields("trailer", nil); err != nil {
		return nil, err
	}
	return b, nil
}

// readToEOF reads a body that ends with the connection.
func (c *conn) readToEOF() ([]byte, error) { return c.readLimited(c.r) }

// readLimited reads r to its end into c.body, refusing more than maxAnswerBody.
func (c *conn) readLimited(r io.Reader) ([]byte, error) {
	buf := bytes.NewBuffer(c.body[:0])
	n, err := buf.ReadFrom(io.LimitReader(r, maxAnswerBody+1))
	c.body = buf.Bytes()
	if err != nil {
		return nil, err
	}
	if n > maxAnswerBody {
		return nil, fmt.Errorf("a body of more than the %d bytes allowed", maxAnswerBody)
	}
	return c.body, nil
}

// equalFold is ASCII case-insensitive equality of b and s.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// clip is the start of b for an error message.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
