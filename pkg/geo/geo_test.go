package geo_test

import (
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/teller-analytics/teller/internal/geotest"
	"github.com/teller-analytics/teller/pkg/geo"
)

// fixture writes a tiny database with both record layouts.
func fixture(t *testing.T) string {
	return geotest.Write(t, map[string]mmdbtype.Map{
		"198.51.100.0/24": {"country_code": mmdbtype.String("DE")},
		"203.0.113.0/24":  {"country": mmdbtype.Map{"iso_code": mmdbtype.String("jp")}},
		"2001:db8::/32":   {"country_code": mmdbtype.String("FR")},
		"192.0.2.0/24":    {"country_code": mmdbtype.String("ZZZ")},
	})
}

func TestCountry(t *testing.T) {
	db, err := geo.Open(fixture(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for ip, want := range map[string]string{
		"198.51.100.7": "DE", "::ffff:198.51.100.7": "DE", "203.0.113.1": "JP", "2001:db8::1": "FR",
		"192.0.2.1": "", "8.8.8.8": "", "not an ip": "", "": "",
	} {
		if got := db.Country(ip); got != want {
			t.Errorf("Country(%q) = %q, want %q", ip, got, want)
		}
	}
	var none *geo.DB
	if none.Country("198.51.100.7") != "" {
		t.Fatal("no database must know no country")
	}
	if _, err := geo.Open(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Fatal("a missing file opened")
	}
}
