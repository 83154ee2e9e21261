// Command collector runs Teller's collector. Every flag has an environment fallback,
// TELLER_<FLAG>; run it with -help for the list.
package main

import "github.com/teller-analytics/teller/pkg/app"

func main() { app.Main("collector", &app.CollectorConfig{}) }
