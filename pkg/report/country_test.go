package report_test

import (
	"testing"

	"github.com/teller-analytics/teller/pkg/report"
)

func TestCountryName(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{"DE", "Germany"}, {"US", "United States"}, {"GB", "United Kingdom"}, {"FR", "France"}, {"JP", "Japan"},
		{"", report.UnknownCountry}, {"XX", "XX"}, {"<b", "<b"}, {"DEU", "DEU"}, {"de", "Germany"},
	} {
		if got := report.CountryName(c.code); got != c.want {
			t.Errorf("CountryName(%q) = %q, want %q", c.code, got, c.want)
		}
	}
}
