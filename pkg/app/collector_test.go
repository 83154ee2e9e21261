package app_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
	"github.com/teller-analytics/teller/pkg/config"
)

// The collector's public port serves what browsers need; health, readiness
// and metrics answer on the admin listener only.
func TestCollectorHealthAndMetricsOnTheAdminListener(t *testing.T) {
	ch := testenv.ClickHouse(t)
	brokers := testenv.Kafka(t, "events", 1)
	ctx, cancel := context.WithCancel(context.Background())
	public, admin := make(chan net.Addr, 1), make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- app.RunCollector(ctx, app.CollectorConfig{Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0",
			Store: testenv.StoreConfig(ch, "admin"), Kafka: bus.Config{Brokers: config.StringList(brokers), Topic: "events"},
			CookieSecrets: config.StringList{"collector-cookie-secret-0123456789"}, Migrate: true},
			testenv.Logger(t), app.Hooks{Ready: func(a net.Addr) { public <- a }, AdminReady: func(a net.Addr) { admin <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	var pub, adm net.Addr
	for pub == nil || adm == nil {
		select {
		case pub = <-public:
		case adm = <-admin:
		case err := <-done:
			t.Fatalf("collector ended: %v", err)
		case <-time.After(60 * time.Second):
			t.Fatal("collector did not start")
		}
	}
	status := func(addr net.Addr, path string) int {
		resp, err := http.Get("http://" + addr.String() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for path, want := range map[string][2]int{
		"/metrics": {404, 200}, "/healthz": {404, 200}, "/readyz": {404, 200}, "/teller.js": {200, 404},
	} {
		if got := [2]int{status(pub, path), status(adm, path)}; got != want {
			t.Errorf("%s: public %d, admin %d; want %d, %d", path, got[0], got[1], want[0], want[1])
		}
	}
}
