// Package geo owns the country lookup: a client address to an ISO 3166-1
// alpha-2 code, from a MaxMind DB format file (github.com/oschwald/
// maxminddb-golang/v2). The collector calls it with the raw address, which it
// then drops; nothing here keeps an address.
//
// The file is not in the repository: scripts/fetch-geo.sh fetches the DB-IP
// country database (CC-BY-4.0: show "IP Geolocation by DB-IP", with a link to
// https://db-ip.com, where countries are reported) into .teller-data/, and
// the collector's -geo-db flag names it. Without a file every country is
// empty. Both record layouts in use are read: ip-location-db's
// {"country_code": "DE"} and GeoIP2's {"country": {"iso_code": "DE"}}.
package geo

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// DB looks countries up. A nil *DB knows no country.
type DB struct {
	r *maxminddb.Reader
}

// Open opens a country database file.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo: open country database %s: %w", path, err)
	}
	return &DB{r: r}, nil
}

// Close releases the file.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	return db.r.Close()
}

// Country returns the upper-case country code of ip, "" when unknown (no
// database, an address it does not cover, a private address, or a record
// without a two-letter code).
func (db *DB) Country(ip string) string {
	if db == nil {
		return ""
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	res := db.r.Lookup(addr.Unmap())
	if !res.Found() {
		return ""
	}
	var code string
	if err := res.DecodePath(&code, "country_code"); err != nil || code == "" {
		code = ""
		_ = res.DecodePath(&code, "country", "iso_code")
	}
	code = strings.ToUpper(code)
	if len(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' {
		return ""
	}
	return code
}
