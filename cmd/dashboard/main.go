// Command dashboard runs Teller's dashboard: session reports behind a login
// and a JSON API. Every flag has an environment fallback, TELLER_<FLAG>; run
// it with -help for the list.
package main

import "github.com/teller-analytics/teller/pkg/app"

func main() { app.Main("dashboard", &app.DashboardConfig{}) }
