// Package geotest writes tiny country databases (MaxMind DB format, with
// github.com/maxmind/mmdbwriter) for tests of pkg/geo and its users, in the
// ip-location-db record layout ({"country_code": "DE"}).
package geotest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Write writes networks (CIDR -> record) to a file in a temporary folder and
// returns its path. Documentation ranges (192.0.2.0/24, 2001:db8::/32, ...)
// are allowed.
func Write(t testing.TB, networks map[string]mmdbtype.Map) string {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "teller-test-country", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range networks {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// Countries writes CIDR -> country code networks.
func Countries(t testing.TB, networks map[string]string) string {
	m := map[string]mmdbtype.Map{}
	for cidr, code := range networks {
		m[cidr] = mmdbtype.Map{"country_code": mmdbtype.String(code)}
	}
	return Write(t, m)
}
