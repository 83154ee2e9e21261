package collector

import "github.com/teller-analytics/teller/pkg/gctune"

// GCPercent is the garbage collector's target the collector runs with unless
// GOGC says otherwise. Its live heap is small (a few MiB of buckets, caches
// and buffers) while every request allocates: at Go's default of 100 the
// collector collected several times a second under load and spent about a
// tenth of its CPU marking (docs/benchmarks.md). 400 trades some tens of MiB
// of heap for a quarter of that work.
const GCPercent = 400

// TuneGC sets GCPercent for the process, unless GOGC is set (the operator's
// choice wins). The collector's service applies its -gc-percent and
// -memory-limit-mib (default GCPercent; pkg/gctune) instead; TuneGC is for
// a collector configured without flags (the dev mode, the benchmark
// servers). It is process wide, so it also applies to whatever shares the
// process.
func TuneGC() { gctune.SetPercent(GCPercent) }
