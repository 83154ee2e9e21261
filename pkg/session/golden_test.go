package session

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenStream runs a long, seeded, messy stream (several visitors and
// sites, gaps around the 30-minute boundary, late and reordered events,
// campaign changes, a day boundary) under each rule set and compares every
// decision with the golden file. Any change in the rules shows up as a diff
// to review; run `go test ./pkg/session -update` only when it is intended.
func TestGoldenStream(t *testing.T) {
	for name, rules := range map[string]Rules{
		"default":  DefaultRules(),
		"midnight": rulesWith(func(r *Rules) { r.SplitAtMidnight = true }),
		"campaign": rulesWith(func(r *Rules) { r.SplitOnCampaign = true }),
	} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 11))
			p := newPartition(t, rules)
			labels := map[uuid.UUID]string{}
			seen := map[string]bool{}
			clock := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC).UnixMilli()
			var out strings.Builder
			for i := 0; i < 400; i++ {
				gaps := []int64{1_000, 60_000, 29*60_000 + 59_999, 30 * 60_000, 30*60_000 + 1, 45 * 60_000}
				clock += gaps[rng.IntN(len(gaps))] / int64(1+rng.IntN(4))
				at := clock
				if rng.IntN(10) == 0 { // late or slightly reordered
					at -= int64(rng.IntN(5)) * 60_000
				}
				v, site := fmt.Sprint("v", rng.IntN(6)), []string{"a", "b"}[rng.IntN(2)]
				campaign := ""
				if rng.IntN(8) == 0 {
					campaign = []string{"spring", "summer"}[rng.IntN(2)]
				}
				a := p.Assign(Input{EventID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint(i))), Site: site,
					Visitor: visitorID(v), TimeMs: at, NewVisitor: !seen[site+v], CampaignKey: CampaignKey(campaign)})
				seen[site+v] = true
				if _, ok := labels[a.SessionID]; !ok {
					labels[a.SessionID] = fmt.Sprintf("s%d", len(labels)+1)
				}
				fmt.Fprintf(&out, "%3d %s %s/%s %-9s %-4s %-12s opens=%v late=%v bridging=%v\n", i,
					time.UnixMilli(at).UTC().Format("01-02 15:04:05.000"), site, v, campaign, labels[a.SessionID], a.Reason, a.Opens, a.Late, a.Bridging)
			}
			golden := "testdata/" + name + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != string(want) {
				t.Fatalf("decisions differ from %s (run with -update if the rule change is intended):\n%s", golden, diff(string(want), out.String()))
			}
		})
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)) && b.Len() < 2000; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "-%s\n+%s\n", wl, gl)
		}
	}
	return b.String()
}

// TestGoldenProtections is TestGoldenStream for what protects the figures:
// redeliveries near and far (after their session closed), events dated
// ahead of their record (within the skew, past it, the year 2100) and a
// partition at a small open-session cap. Run with -update only when a
// change is intended (and keep testdata/checkpoint-v2.bin as it is).
func TestGoldenProtections(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 17))
	p := newPartition(t, rulesWith(func(r *Rules) { r.MaxOpenSessions = 8 }))
	labels := map[uuid.UUID]string{}
	seen := map[string]bool{}
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
	var sent []Input
	var out strings.Builder
	for i := 0; i < 300; i++ {
		clock += []int64{5_000, 60_000, 4 * 60_000, 20 * 60_000}[rng.IntN(4)]
		v := fmt.Sprint("v", rng.IntN(12))
		in := Input{EventID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(fmt.Sprint("p", i))), Site: "a", Visitor: visitorID(v),
			TimeMs: clock, RecordMs: clock + int64(rng.IntN(1_000)), NewVisitor: !seen[v]}
		what := "new"
		switch k := rng.IntN(20); {
		case k < 2 && len(sent) > 0: // near
			in, what = sent[len(sent)-1-rng.IntN(min(len(sent), 5))], "again-near"
		case k < 4 && len(sent) > 0: // far
			in, what = sent[rng.IntN(len(sent))], "again-far"
		case k == 4:
			in.TimeMs, what = in.RecordMs+60_000, "ahead-1m"
		case k == 5:
			in.TimeMs, what = in.RecordMs+60_001, "ahead-1m1ms"
		case k == 6:
			in.TimeMs, what = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), "year-2100"
		}
		seen[v] = true
		sent = append(sent, in)
		a := p.Assign(in)
		label := "-"
		if a.SessionID != (uuid.UUID{}) {
			if _, ok := labels[a.SessionID]; !ok {
				labels[a.SessionID] = fmt.Sprintf("s%d", len(labels)+1)
			}
			label = labels[a.SessionID]
		}
		fmt.Fprintf(&out, "%3d %s %-11s %-4s %-12s opens=%v late=%v bridging=%v duplicate=%v quarantined=%v open=%d\n", i,
			time.UnixMilli(in.TimeMs).UTC().Format("2006-01-02 15:04:05.000"), what, label, a.Reason, a.Opens, a.Late, a.Bridging,
			a.Duplicate, a.Quarantined, p.OpenSessions())
	}
	golden := "testdata/protections.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("decisions differ from %s (run with -update if the rule change is intended):\n%s", golden, diff(string(want), out.String()))
	}
}
