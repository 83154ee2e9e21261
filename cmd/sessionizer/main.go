// Command sessionizer runs Teller's sessionizer. Every flag has an environment fallback,
// TELLER_<FLAG>; run it with -help for the list.
package main

import "github.com/teller-analytics/teller/pkg/app"

func main() { app.Main("sessionizer", &app.SessionizerConfig{}) }
