package report_test

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/teller-analytics/teller/internal/chtest"
	"github.com/teller-analytics/teller/pkg/report"
)

// TestFinalStreamsAgree: every report gives the same figures whether its
// sessions are read from session_versions FINAL in one stream or split by
// session day into two or three, on both engines. The data set's range
// (three days) splits between days that hold sessions, so a slice that
// dropped or repeated a day, or a condition missing from one slice, would
// change the figures.
func TestFinalStreamsAgree(t *testing.T) {
	t.Cleanup(func() { mainStreams = 0 })
	names := make([]string, 0, len(everyReport))
	for name := range everyReport {
		names = append(names, name)
	}
	sort.Strings(names)
	chtest.Each(t, srv.Engines, func(t *testing.T, e *chtest.Engine) {
		run := func(streams int) (map[string]any, []string) {
			mainStreams = streams
			var log report.SQLLog
			c := report.WithSQLLog(ctx(t), &log)
			out := map[string]any{}
			for _, name := range names {
				got, err := everyReport[name](c, report.New(e))
				if err != nil {
					t.Fatalf("%s in %d streams: %v", name, streams, err)
				}
				out[name] = got
			}
			return out, log.Statements()
		}
		one, _ := run(1)
		for _, n := range []int{2, 3} {
			got, stmts := run(n)
			split := 0
			for _, s := range stmts {
				if strings.Count(s, "FROM session_versions FINAL") >= n {
					split++
				}
			}
			if split == 0 {
				t.Fatalf("%d streams: no statement read FINAL in %d slices: the comparison proves nothing", n, n)
			}
			for _, name := range names {
				if !reflect.DeepEqual(got[name], one[name]) {
					t.Errorf("%s in %d streams differs from 1:\n1: %+v\n%d: %+v", name, n, one[name], n, got[name])
				}
			}
		}
	})
}
