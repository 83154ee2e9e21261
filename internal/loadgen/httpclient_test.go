package loadgen

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// testRequest is a complete request as the generator writes it.
func testRequest(host string) []byte {
	body := `{"site":"s","kind":"pageview","name":"pageview","url":"http://localhost/"}`
	return fmt.Appendf(nil, "POST /api/event HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", host, len(body), body)
}

// rawServer answers every request on a connection with answer, byte for
// byte, and closes the connection after it when hangUp is set.
func rawServer(t *testing.T, answer string, hangUp bool) *url.URL {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, req.Body)
					if _, err := io.WriteString(c, answer); err != nil || hangUp {
						return
					}
				}
			}()
		}
	}()
	u, _ := url.Parse("http://" + l.Addr().String())
	return u
}

// The answer parser, on answers written byte for byte: the status, the body
// by Content-Length, chunked or to the connection's end, the Set-Cookie
// lines, and whether the connection serves the next request; truncated,
// oversized and malformed answers are errors that close the connection.
func TestConnParsesAnswers(t *testing.T) {
	big := strings.Repeat("x", maxAnswerBody+1)
	for _, tc := range []struct {
		name   string
		answer string
		hangUp bool // the server closes after answering
		status int
		body   string
		cookie []string
		err    string // "" : no error
		dials  int64  // connections for two requests
	}{
		{name: "content length, keep-alive", answer: "HTTP/1.1 202 Accepted\r\nContent-Length: 9\r\nSet-Cookie: a=1; Path=/\r\nset-cookie: b=2\r\n\r\n{\"id\":\"\"}",
			status: 202, body: `{"id":""}`, cookie: []string{"a=1; Path=/", "b=2"}, dials: 1},
		{name: "chunked", answer: "HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"er\r\n6;ext=1\r\nror\":1\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n",
			status: 400, body: `{"error":1}`, dials: 1},
		{name: "Connection: close", answer: "HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", hangUp: true,
			status: 202, body: "ok", dials: 2},
		{name: "HTTP/1.0 without keep-alive", answer: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", hangUp: true,
			status: 200, body: "ok", dials: 2},
		{name: "no length: to the end", answer: "HTTP/1.1 500 Internal Server Error\r\n\r\nsomething broke", hangUp: true,
			status: 500, body: "something broke", dials: 2},
		{name: "100 Continue first", answer: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n",
			status: 202, body: "", dials: 1},
		{name: "204 has no body", answer: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, body: "", dials: 1},
		{name: "truncated body", answer: "HTTP/1.1 202 Accepted\r\nContent-Length: 10\r\n\r\nshort", hangUp: true,
			status: 202, err: "reading the answer: unexpected EOF", dials: 2},
		{name: "truncated header", answer: "HTTP/1.1 202 Accepted\r\nContent-Len", hangUp: true,
			status: 202, err: "reading the answer's header: unexpected EOF", dials: 2},
		{name: "truncated status line", answer: "HTTP/1.1 20", hangUp: true, err: "unexpected EOF", dials: 2},
		{name: "no answer at all", answer: "", hangUp: true, err: "EOF", dials: 2},
		{name: "oversize by length", answer: fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(big), big),
			status: 200, err: "a body of 65537 bytes, more than the 65536 allowed", dials: 2},
		{name: "oversize chunked", answer: fmt.Sprintf("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(big), big),
			status: 200, err: "more than the 65536 bytes allowed", dials: 2},
		{name: "oversize to the end", answer: "HTTP/1.1 200 OK\r\n\r\n" + big, hangUp: true,
			status: 200, err: "more than the 65536 bytes allowed", dials: 2},
		{name: "gzip transfer coding refused", answer: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			status: 200, err: `unsupported Transfer-Encoding "gzip, chunked"`, dials: 2},
		{name: "bad content length", answer: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", status: 200, err: `bad Content-Length "-1"`, dials: 2},
		{name: "not HTTP", answer: "SSH-2.0-OpenSSH_9.6\r\n", err: `not an HTTP/1.x answer: "SSH-2.0-OpenSSH_9.6"`, dials: 2},
		{name: "malformed status", answer: "HTTP/1.1 2x2 Accepted\r\n\r\n", err: `malformed status line "HTTP/1.1 2x2 Accepted"`, dials: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := rawServer(t, tc.answer, tc.hangUp)
			c := newConn(u, 5*time.Second, nil)
			defer c.close()
			for i := 0; i < 2; i++ {
				a, err := c.do(testRequest(u.Host))
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("request %d: error %v, want %q", i, err, tc.err)
					}
					if c.c != nil {
						t.Fatal("the connection is kept after an error")
					}
				} else if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				var cookies []string
				for _, sc := range a.setCookies {
					cookies = append(cookies, string(sc))
				}
				if a.status != tc.status || (tc.err == "" && string(a.body) != tc.body) || fmt.Sprint(cookies) != fmt.Sprint(tc.cookie) {
					t.Fatalf("request %d: status %d, body %q, cookies %q; want %d, %q, %q", i, a.status, a.body, cookies, tc.status, tc.body, tc.cookie)
				}
			}
			if c.dials != tc.dials || c.redials != tc.dials-1 {
				t.Fatalf("%d connections (%d redials) for two requests, want %d", c.dials, c.redials, tc.dials)
			}
		})
	}
}

// Against net/http servers: keep-alive, a streamed (chunked) answer, a
// server that closes idle connections (the request goes again on a new
// one, once), TLS, and the per-request deadline.
func TestConnAgainstNetHTTP(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Query().Get("mode") {
		case "stream":
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprint(w, `{"id":`)
			w.(http.Flusher).Flush() // no Content-Length: chunked
			fmt.Fprintf(w, `%q}`, r.Header.Get("Cookie"))
		case "slow":
			time.Sleep(300 * time.Millisecond)
		case "close":
			w.Header().Set("Connection", "close")
			fmt.Fprintf(w, "%d", len(body))
		default:
			http.SetCookie(w, &http.Cookie{Name: "teller_vid", Value: "v1", Path: "/", MaxAge: 60})
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, "%s %d", r.Method, len(body))
		}
	})
	srv := httptest.NewServer(handler)
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	req := func(mode string) []byte {
		r := testRequest(u.Host)
		return []byte(strings.Replace(string(r), "/api/event", "/api/event?mode="+mode, 1))
	}
	c := newConn(u, 5*time.Second, nil)
	defer c.close()
	for i := 0; i < 3; i++ {
		a, err := c.do(req(""))
		if err != nil || a.status != 202 || string(a.body) != "POST 74" || len(a.setCookies) != 1 || !strings.HasPrefix(string(a.setCookies[0]), "teller_vid=v1; Path=/; Max-Age=60") {
			t.Fatalf("keep-alive request %d: %d %q %q %v", i, a.status, a.body, a.setCookies, err)
		}
	}
	if a, err := c.do(req("stream")); err != nil || a.status != 202 || string(a.body) != `{"id":""}` {
		t.Fatalf("chunked: %d %q %v", a.status, a.body, err)
	}
	if c.dials != 1 {
		t.Fatalf("%d connections for keep-alive requests", c.dials)
	}
	if a, err := c.do(req("close")); err != nil || string(a.body) != "74" || c.c != nil {
		t.Fatalf("Connection: close: %q %v, connection kept %v", a.body, err, c.c != nil)
	}
	if _, err := c.do(req("")); err != nil || c.dials != 2 {
		t.Fatalf("after Connection: close: %v, %d connections", err, c.dials)
	}
	// The server drops its idle connections: the next request is sent again
	// on a new connection, and succeeds.
	srv.CloseClientConnections()
	time.Sleep(50 * time.Millisecond)
	if a, err := c.do(req("")); err != nil || a.status != 202 || c.dials != 3 {
		t.Fatalf("after the server closed the connection: %d, %v, %d connections", a.status, err, c.dials)
	}
	// The deadline bounds the whole request.
	slow := newConn(u, 100*time.Millisecond, nil)
	if _, err := slow.do(req("slow")); err == nil || !strings.Contains(err.Error(), "i/o timeout") {
		t.Fatalf("a request past its deadline: %v", err)
	}

	// TLS: the same client over https, the server's certificate trusted.
	tsrv := httptest.NewTLSServer(handler)
	defer tsrv.Close()
	tu, _ := url.Parse(tsrv.URL)
	pool := x509.NewCertPool()
	pool.AddCert(tsrv.Certificate())
	tc := newConn(tu, 5*time.Second, &tls.Config{RootCAs: pool})
	defer tc.close()
	for i := 0; i < 2; i++ {
		if a, err := tc.do(testRequest(tu.Host)); err != nil || a.status != 202 || string(a.body) != "POST 74" {
			t.Fatalf("https request %d: %d %q %v", i, a.status, a.body, err)
		}
	}
	if tc.dials != 1 {
		t.Fatalf("%d TLS connections for 2 requests", tc.dials)
	}
	untrusted := newConn(tu, 5*time.Second, nil)
	if _, err := untrusted.do(testRequest(tu.Host)); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("an untrusted certificate: %v", err)
	}
}

// Failures are counted by message: a transport error's names the collector's
// address, not the connection's own port, so they stay few.
func TestTransportErrorsNameNoLocalPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(time.Second); c.Close() }() // never answers
		}
	}()
	defer l.Close()
	u, _ := url.Parse("http://" + l.Addr().String())
	msgs := map[string]bool{}
	for i := 0; i < 3; i++ {
		c := newConn(u, 50*time.Millisecond, nil)
		_, err := c.do(testRequest(u.Host))
		if err == nil {
			t.Fatal("an answer from a server that never answers")
		}
		msgs[transportError(err)] = true
	}
	want := "read tcp " + l.Addr().String() + ": i/o timeout"
	if len(msgs) != 1 || !msgs[want] {
		t.Fatalf("messages %v, want only %q", msgs, want)
	}
}
