// Package browser starts a real headless Chromium for tests and drives it
// with chromedp: the snippet, demo-site and dashboard tests load their pages
// in it, so what they assert is what a browser really does.
//
// Every Browser is its own Chromium process with a fresh profile in a
// t.TempDir(), so cookies, storage and cache never leak between tests. The
// package fails the test when Chromium is missing: a browser test that
// silently skips proves nothing.
//
// The package is for tests only. It knows nothing of Teller's pages; it must
// not grow helpers for one feature (those belong with that feature's tests).
package browser

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// ExecPath is the Chromium binary the tests run (Debian package `chromium`).
const ExecPath = "/usr/bin/chromium"

// ActionTimeout is the default Browser.Timeout. It is generous because a
// shared 2-core machine can be slow, not because actions are.
const ActionTimeout = 30 * time.Second

// StartTimeout bounds starting Chromium and opening its first tab.
const StartTimeout = 60 * time.Second

// Window size of the headless browser, in CSS pixels. Tests may rely on it:
// it is also what the page sees as screen.width and screen.height.
const (
	WindowWidth  = 1280
	WindowHeight = 800
)

// Browser is one headless Chromium with one tab, owned by one test.
// Its methods are not safe for concurrent use (a tab runs one action at a time).
type Browser struct {
	// Timeout bounds each action given to Run or Get; New sets ActionTimeout.
	Timeout time.Duration

	t   testing.TB
	ctx context.Context // the tab's chromedp context

	mu         sync.Mutex
	closed     bool     // set at cleanup: no more t.Logf from goroutines
	exceptions []string // uncaught exceptions and unhandled rejections
}

// New starts Chromium with a fresh profile and opens a blank tab. The browser
// is stopped when the test ends. It fails the test (never skips) if Chromium
// is missing or does not start within StartTimeout. extra options are
// applied after the defaults, e.g. chromedp.UserAgent: unlike a CDP
// override, a command-line user agent also applies to beacons sent while a
// page unloads.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	if _, err := os.Stat(ExecPath); err != nil {
		t.Fatalf("browser: %s is needed by this test and was not found (%v); install it with `apt-get install -y chromium`", ExecPath, err)
	}
	b := &Browser{t: t, Timeout: ActionTimeout}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ExecPath),
		chromedp.Headless, // also hides scrollbars and mutes audio
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(WindowWidth, WindowHeight),
	}
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(b.logf))
	b.ctx = ctx
	t.Cleanup(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		cancelTab() // kills Chromium and waits for it to exit
		cancelAlloc()
	})

	// The first action starts the browser and binds its life to ctx, so it
	// must not run under a timeout context: time it out from outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browser: start %s: %v", ExecPath, err)
		}
	case <-time.After(StartTimeout):
		cancelTab()
		t.Fatalf("browser: %s did not start within %s", ExecPath, StartTimeout)
	}

	// Headless Chromium reports an 800x600 screen whatever the window size;
	// make the screen match the window, as on a desktop with a maximized window.
	if err := b.Run(chromedp.EmulateViewport(WindowWidth, WindowHeight,
		func(p *emulation.SetDeviceMetricsOverrideParams, _ *emulation.SetTouchEmulationEnabledParams) {
			p.ScreenWidth, p.ScreenHeight = WindowWidth, WindowHeight
		})); err != nil {
		t.Fatalf("browser: set the screen size: %v", err)
	}

	go b.watchConsole(chromedp.Console(ctx))
	return b
}

// watchConsole logs what the page writes to its console (shown with -v or on
// failure) and keeps the uncaught exceptions for Exceptions.
func (b *Browser) watchConsole(messages iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range messages {
		if err != nil {
			return
		}
		b.mu.Lock()
		if m.IsException() {
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s (%s:%d)", m.Text, m.URL, m.Line+1))
		}
		if !b.closed {
			b.t.Logf("browser console: %s (%s:%d)", m, m.URL, m.Line+1)
		}
		b.mu.Unlock()
	}
}

func (b *Browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.t.Logf("browser: "+format, args...)
	}
}

// Context is the tab's chromedp context, for chromedp functions that take one
// (chromedp.Events, chromedp.Console, chromedp.Call). It ends with the test.
func (b *Browser) Context() context.Context { return b.ctx }

// Run runs the steps in order in the tab, each under its own b.Timeout,
// and stops at the first error, which names the failing step.
func (b *Browser) Run(steps ...chromedp.Action[chromedp.Void]) error {
	for i, step := range steps {
		if _, err := Get(b, step); err != nil {
			return fmt.Errorf("step %d of %d: %w", i+1, len(steps), err)
		}
	}
	return nil
}

// Get runs one action that returns a value (chromedp.Evaluate[T],
// chromedp.Text, chromedp.Location...) under b.Timeout.
func Get[T any](b *Browser, action chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, b.Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("browser action timed out after %s: %w", b.Timeout, err)
	}
	return v, err
}

// Screenshot writes a PNG of the whole page (beyond the viewport) to path.
func (b *Browser) Screenshot(path string) error {
	png, err := Get(b, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("screenshot: %w", err)
		}
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return nil
}

// Exceptions returns the uncaught exceptions and unhandled promise rejections
// the pages raised so far. Console events arrive asynchronously, a moment
// after the action that caused them: poll, or check at the end of a test.
func (b *Browser) Exceptions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.exceptions...)
}
