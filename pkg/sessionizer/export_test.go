package sessionizer

// BenchEvents gives the external benchmarks the same event mix as the
// enricher's benchmark (enrich_test.go).
var BenchEvents = benchEvents
