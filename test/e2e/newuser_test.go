package e2e

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
)

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// cleanEnv is this process's environment without TELLER_ variables: a new
// user's shell.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TELLER_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// readmeCommands are the README's shell commands that use the teller CLI
// (lines with `go run ./cmd/teller ...`, such as a printf piped into it;
// continuation lines joined), in order.
func readmeCommands(t *testing.T, readme string) []string {
	var cmds []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(readme, -1) {
		joined := strings.ReplaceAll(block[1], "\\\n", " ")
		for _, line := range strings.Split(joined, "\n") {
			if strings.Contains(line, "go run ./cmd/teller ") {
				cmds = append(cmds, strings.Join(strings.Fields(line), " "))
			}
		}
	}
	if len(cmds) < 3 {
		t.Fatalf("README has %d teller commands, want at least site add, site list and snippet: %q", len(cmds), cmds)
	}
	return cmds
}

// A new user's sequence: `make dev` (here `teller dev` on free ports, in a
// fresh folder, with TELLER_CLICKHOUSE_ADDR exported as someone may have
// done), then the README's commands exactly as printed, in order, through
// the real binary, then Ctrl-C.
func TestReadmeSequenceAfterMakeDev(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "teller")
	build := exec.Command("go", "build", "-o", bin, "./cmd/teller")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/teller: %v\n%s", err, out)
	}
	// Seven distinct free ports: held together while picked, then freed for
	// the dev mode.
	var ports []string
	var held []net.Listener
	for i := 0; i < 8; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	for _, l := range held {
		l.Close()
	}
	demoPort, collectorPort, chPort := ports[0], ports[1], ports[4]
	args := []string{"dev", "-host", "127.0.0.1", "-demo-port", ports[0], "-collector-port", ports[1], "-dashboard-port", ports[2],
		"-sessionizer-port", ports[3], "-clickhouse-port", ports[4], "-clickhouse-http-port", ports[5], "-kafka-port", ports[6],
		"-import-sessionizer-port", ports[7]}
	dev := exec.Command(bin, args...)
	dev.Dir = dir
	// Exported for the CLI by a user following older advice: it must not
	// send the dev mode to another ClickHouse.
	dev.Env = cleanEnv("TELLER_CLICKHOUSE_ADDR=127.0.0.1:1", "TELLER_DEV_FLUSH_INTERVAL=200ms", "TELLER_DEV_LOG_LEVEL=warn")
	out := &lockedBuffer{}
	dev.Stdout, dev.Stderr = out, out
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- dev.Wait() }()
	defer func() {
		if dev.ProcessState == nil {
			_ = dev.Process.Kill()
		}
	}()
	testenv.Eventually(t, 120*time.Second, "the dev mode's banner", func() bool {
		select {
		case err := <-exited:
			t.Fatalf("teller dev exited: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "Teller is running")
	})
	if !strings.Contains(out.String(), `site id "demo"`) {
		t.Fatalf("the banner does not name the demo's site id:\n%s", out.String())
	}

	readmeBytes, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(readmeBytes)
	sh := func(command string) (string, string, int) {
		t.Helper()
		c := exec.Command("sh", "-c", command)
		c.Dir = dir
		c.Env = cleanEnv()
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		return stdout.String(), stderr.String(), code
	}
	var printed []string
	for _, cmd := range readmeCommands(t, readme) {
		stdout, stderr, code := sh(strings.Replace(cmd, "go run ./cmd/teller", bin, 1))
		if code != 0 {
			t.Fatalf("README command %q: exit %d\nstdout:\n%s\nstderr:\n%s", cmd, code, stdout, stderr)
		}
		if !strings.Contains(stderr, "using the running dev mode's ClickHouse at 127.0.0.1:"+chPort) {
			t.Errorf("%q does not say it uses the dev stack:\n%s", cmd, stderr)
		}
		printed = append(printed, stdout)
	}
	tag := `<script defer data-site="shop" src="https://stats.shop.example.com/teller.js"></script>`
	if !strings.Contains(printed[0], tag) || !regexp.MustCompile(`(?m)^demo\s`).MatchString(printed[1]) ||
		!regexp.MustCompile(`(?m)^shop\s`).MatchString(printed[1]) || strings.TrimSpace(printed[2]) != tag {
		t.Fatalf("README commands printed:\n%s", strings.Join(printed, "---\n"))
	}
	if !strings.Contains(readme, tag) {
		t.Errorf("README does not show the tag site add prints: %s", tag)
	}

	// Click through the demo site as its snippet reports it: a visit from a
	// search engine, in a browser (the README's examples leave bots out).
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	for _, path := range []string{"/", "/pricing"} {
		body := `{"site":"demo","kind":"pageview","url":"http://127.0.0.1:` + demoPort + path + `","referrer":"https://www.google.com/"}`
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:"+collectorPort+"/api/event", strings.NewReader(body))
		req.Header.Set("Origin", "http://127.0.0.1:"+demoPort)
		req.Header.Set("User-Agent", chromeUA)
		resp, err := browser.Do(req)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("demo pageview: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	// The README's ClickHouse client command, on this run's port.
	client := regexp.MustCompile("`(clickhouse-client --port 19000 --database teller)`").FindStringSubmatch(readme)
	if client == nil {
		t.Fatal("README does not show how to open the dev ClickHouse with clickhouse-client")
	}
	clientCmd := strings.Replace(client[1], "19000", chPort, 1)
	query := func(sql string) string {
		t.Helper()
		c := exec.Command("sh", "-c", clientCmd+` --query "$Q"`)
		c.Env = cleanEnv("Q=" + sql)
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", sql, err, b)
		}
		return strings.TrimSpace(string(b))
	}
	testenv.Eventually(t, 30*time.Second, "the demo visit as a session", func() bool {
		return query("SELECT count() FROM sessions WHERE site_id = 'demo'") == "1"
	})
	blocks := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(readme, -1)
	if len(blocks) < 2 {
		t.Fatalf("README has %d SQL examples", len(blocks))
	}
	for _, b := range blocks {
		if got := query(b[1]); got == "" {
			t.Errorf("README query returned nothing on the demo's data:\n%s", b[1])
		}
	}

	// Someone testing with a headless browser sees no sessions: the
	// dashboard's empty state says why (bots are hidden by default).
	password := regexp.MustCompile(`password "([^"]+)"`).FindStringSubmatch(out.String())[1]
	dash := loginAs(t, "http://127.0.0.1:"+ports[2], "admin", password)
	resp, err := dash.client.Get(dash.base + "/sites/shop")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="bots-note"`) ||
		!strings.Contains(string(page), "a headless browser counts as a bot") {
		t.Errorf("the empty site page does not explain hidden bots: %s\n%s", resp.Status, page)
	}

	// Help is help; a tag for a site that does not exist is refused.
	if stdout, stderr, code := sh(bin + " site -help"); code != 0 || !strings.Contains(stdout, "Usage: teller site") {
		t.Errorf("teller site -help: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, stderr, code := sh(bin + " snippet -id nosuch"); code != 1 || !strings.Contains(stderr, `no site "nosuch"`) {
		t.Errorf("teller snippet -id nosuch: exit %d\n%s", code, stderr)
	}

	// Ctrl-C: a clean stop, exit status 0, and the stack file is gone.
	if err := dev.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("teller dev after Ctrl-C: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("teller dev did not stop within 60 s of Ctrl-C:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Stopping") {
		t.Errorf("no stop message:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".teller-dev", "stack.json")); !os.IsNotExist(err) {
		t.Errorf("stack.json left behind after a clean stop: %v", err)
	}
}

// loginAs signs in to the dashboard at base through its form.
func loginAs(t *testing.T, base, user, password string) *dashClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &dashClient{base: base, client: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := c.client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	resp, err = c.client.PostForm(base+"/login", url.Values{"csrf": {string(m[1])}, "username": {user},
		"password": {password}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login answered %s", resp.Status)
	}
	return c
}
