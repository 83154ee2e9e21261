package dashboard_test

import (
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestCountries: the site page has a Countries panel with country names
// (CLDR's) and "Unknown" for sessions without one; each row filters the
// page to its country; the JSON API labels the rows alike and the CSV
// carries the codes.
func TestCountries(t *testing.T) {
	c := newEnv(t).client(t)
	c.login()
	rng := "from=2024-03-10&to=2024-03-12"

	d := c.mustGet("/sites/example?"+rng, http.StatusOK)
	if d.id("card-countries") == nil {
		t.Fatal("the site page has no Countries panel (card-countries)")
	}
	var shown []string
	var deLink string
	for _, tr := range within(d.id("table-country"), "row") {
		key := attr(tr, "data-key")
		shown = append(shown, key+"="+strings.TrimSpace(text(within(tr, "key")[0])))
		if key == "DE" {
			for _, a := range find(tr, func(n *html.Node) bool { return n.Data == "a" }, nil) {
				deLink = attr(a, "href")
			}
		}
	}
	if want := []string{"DE=Germany", "US=United States", "=Unknown", "FR=France"}; !reflect.DeepEqual(shown, want) {
		t.Errorf("Countries panel %q, want %q", shown, want)
	}
	if !strings.Contains(deLink, "f=country%3Ais%3ADE") {
		t.Fatalf("the Germany row links to %q, not to its filter", deLink)
	}
	f := c.mustGet(deLink, http.StatusOK)
	if n := len(within(f.id("table-sessions"), "session")); n != 2 {
		t.Errorf("filtered to Germany: %d sessions listed, want 2 (S1, S3)", n)
	}
	if chips := within(f.id("filters"), "chip"); len(chips) != 1 || !strings.Contains(text(chips[0]), "Country is Germany") {
		t.Errorf("filter chip for Germany: %d chips", len(chips))
	}

	var api struct {
		Rows []struct {
			Key, Label string
			Sessions   uint64
		}
	}
	getJSON(t, c, "/api/sites/example/breakdown/country?"+rng+"&limit=3", http.StatusOK, &api)
	var labels []string
	for _, r := range api.Rows {
		labels = append(labels, r.Key+"|"+r.Label+"|"+strconv.FormatUint(r.Sessions, 10))
	}
	if want := []string{"DE|Germany|2", "US|United States|2", "|Unknown|1"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("API country rows %q, want %q", labels, want)
	}

	recs := readCSV(t, c.get("/sites/example/breakdown/country?"+rng+"&format=csv"))
	var keys []string
	for _, rec := range recs[1:] {
		keys = append(keys, rec[0]+"="+rec[2])
	}
	if want := []string{"DE=2", "US=2", "=1", "FR=1"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("country CSV %q, want %q", keys, want)
	}
}
