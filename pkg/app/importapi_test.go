package app_test

import (
	"strings"
	"testing"
	"time"

	"github.com/teller-analytics/teller/pkg/app"
	"github.com/teller-analytics/teller/pkg/bus"
)

func TestImportConfigValidate(t *testing.T) {
	live := bus.Config{Topic: "teller.events"}
	for _, tc := range []struct {
		name string
		cfg  app.ImportConfig
		want string
	}{
		{"defaults", app.ImportConfig{Topic: "teller.import", Horizon: time.Hour}, ""},
		{"off", app.ImportConfig{}, ""},
		{"the live topic", app.ImportConfig{Topic: "teller.events", Horizon: time.Hour}, "-import-topic"},
		{"no horizon", app.ImportConfig{Topic: "teller.import"}, "-import-horizon"},
		{"negative horizon", app.ImportConfig{Topic: "teller.import", Horizon: -time.Hour}, "-import-horizon"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate(live)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}
