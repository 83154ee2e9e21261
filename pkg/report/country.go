package report

import (
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// UnknownCountry is how a session without a country is shown.
const UnknownCountry = "Unknown"

// regionNames are English region names from CLDR (golang.org/x/text's
// tables, maintained upstream) rather than a list of our own.
var regionNames = display.English.Regions()

// CountryName is the English name of an ISO 3166-1 alpha-2 code ("DE" is
// "Germany"), one function for the pages, the CSV and the JSON API. ""
// is UnknownCountry; a code CLDR does not know is returned as it is.
func CountryName(code string) string {
	if code == "" {
		return UnknownCountry
	}
	if len(code) != 2 {
		return code
	}
	r, err := language.ParseRegion(code)
	if err != nil {
		return code
	}
	if name := regionNames.Name(r); name != "" {
		return name
	}
	return code
}
