package session

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/google/uuid"
)

// ev is one event of a scenario: visitor, site, time as "15:04:05.000" on
// 2026-03-01 UTC (a "+1d" prefix moves it a day on), campaign.
type ev struct {
	visitor  string
	site     string
	at       string
	campaign string
	id       string // event id label, the same label the same id; empty: one of its own
	record   string // the Kafka record's time, as at; empty: unknown
	opts     SiteOptions
}

var day0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func (e ev) ms(t *testing.T) int64 {
	t.Helper()
	s, days := e.at, 0
	for len(s) > 3 && s[0] == '+' {
		var n int
		fmt.Sscanf(s, "+%dd ", &n)
		days += n
		s = s[len(fmt.Sprintf("+%dd ", n)):]
	}
	tm, err := time.Parse("15:04:05.000", s)
	if err != nil {
		t.Fatalf("bad time %q: %v", e.at, err)
	}
	return day0.AddDate(0, 0, days).Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute +
		time.Duration(tm.Second())*time.Second + time.Duration(tm.Nanosecond())).UnixMilli()
}

func visitorID(name string) uuid.UUID { return uuid.NewSHA1(uuid.NameSpaceOID, []byte(name)) }

// newPartition is NewPartition for rules the test knows to be valid.
func newPartition(t testing.TB, rules Rules) *Partition {
	t.Helper()
	p, err := NewPartition(rules)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rulesWith returns the default rules changed by set (nil: unchanged).
func rulesWith(set func(*Rules)) Rules {
	r := DefaultRules()
	if set != nil {
		set(&r)
	}
	return r
}

// run feeds the events, every one with the site time zone zone, and returns,
// per event, a session label ("s1", "s2", ... in order of first appearance)
// plus flags.
func run(t *testing.T, rules Rules, zone *time.Location, events []ev) ([]string, []Assignment) {
	t.Helper()
	p := newPartition(t, rules)
	labels := map[uuid.UUID]string{}
	seen := map[string]bool{}
	var out []string
	var as []Assignment
	for i, e := range events {
		site := e.site
		if site == "" {
			site = "site"
		}
		id := uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprint(i)))
		if e.id != "" {
			id = eventID(e.id)
		}
		var recordMs int64
		if e.record != "" {
			recordMs = ev{at: e.record}.ms(t)
		}
		a := p.Assign(Input{
			EventID: id, Site: site, Visitor: visitorID(e.visitor), TimeMs: e.ms(t), RecordMs: recordMs,
			NewVisitor: !seen[site+e.visitor], CampaignKey: CampaignKey(e.campaign), Zone: zone, Options: e.opts,
		})
		seen[site+e.visitor] = true
		if _, ok := labels[a.SessionID]; !ok && a.SessionID != (uuid.UUID{}) {
			labels[a.SessionID] = fmt.Sprintf("s%d", len(labels)+1)
		}
		// "" for a quarantined event, or a duplicate whose session is closed.
		out = append(out, labels[a.SessionID])
		as = append(as, a)
	}
	return out, as
}

func TestScenarios(t *testing.T) {
	every10min := []ev{}
	want25h := []string{}
	for i := 0; i <= 150; i++ { // 25 h of pageviews, 10 min apart
		at := day0.Add(time.Duration(i) * 10 * time.Minute)
		every10min = append(every10min, ev{visitor: "v", at: fmt.Sprintf("+%dd %s", at.Day()-1, at.Format("15:04:05.000"))})
		if i < 144 {
			want25h = append(want25h, "s1")
		} else {
			want25h = append(want25h, "s2")
		}
	}
	berlin, err := time.LoadLocation("Europe/Berlin") // UTC+1 in March
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		rules   func(*Rules) // changes to the default rules
		zone    *time.Location
		events  []ev
		want    []string
		reasons []Reason // of each event's session, if given
		late    []bool
		bridge  []bool
		dup     []bool // answered Duplicate
		quar    []bool // answered Quarantined
	}{
		{name: "30 min gap exactly is one session",
			events: []ev{{visitor: "v", at: "00:00:00.000"}, {visitor: "v", at: "00:30:00.000"}},
			want:   []string{"s1", "s1"}},
		{name: "one millisecond over the gap is two",
			events:  []ev{{visitor: "v", at: "00:00:00.000"}, {visitor: "v", at: "00:30:00.001"}},
			want:    []string{"s1", "s2"},
			reasons: []Reason{FirstVisit, Inactivity}},
		{name: "out of order within disorder joins",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:00:50.000"}, {visitor: "v", at: "10:00:20.000"}},
			want:   []string{"s1", "s1", "s1"},
			late:   []bool{false, false, false}},
		{name: "late event bridging two sessions joins the nearer",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:31:00.000"}, {visitor: "v", at: "10:15:00.000"}},
			want:   []string{"s1", "s2", "s1"},
			late:   []bool{false, false, true},
			bridge: []bool{false, false, true}},
		{name: "split at the 24 h maximum", events: every10min, want: want25h},
		{name: "midnight does not split by default",
			events: []ev{{visitor: "v", at: "23:50:00.000"}, {visitor: "v", at: "+1d 00:10:00.000"}},
			want:   []string{"s1", "s1"}},
		{name: "midnight splits with the option",
			rules:   func(r *Rules) { r.SplitAtMidnight = true },
			events:  []ev{{visitor: "v", at: "23:50:00.000"}, {visitor: "v", at: "+1d 00:10:00.000"}},
			want:    []string{"s1", "s2"},
			reasons: []Reason{FirstVisit, Midnight}},
		{name: "midnight in the site's zone",
			rules:  func(r *Rules) { r.SplitAtMidnight = true },
			zone:   berlin,
			events: []ev{{visitor: "v", at: "22:50:00.000"}, {visitor: "v", at: "23:10:00.000"}},
			want:   []string{"s1", "s2"}},
		{name: "midnight without a zone is UTC's",
			rules:  func(r *Rules) { r.SplitAtMidnight = true },
			events: []ev{{visitor: "v", at: "22:50:00.000"}, {visitor: "v", at: "23:10:00.000"}},
			want:   []string{"s1", "s1"}},
		{name: "campaign change does not split by default",
			events: []ev{{visitor: "v", at: "10:00:00.000", campaign: "A"}, {visitor: "v", at: "10:05:00.000", campaign: "B"}},
			want:   []string{"s1", "s1"}},
		{name: "campaign change splits with the option",
			rules:   func(r *Rules) { r.SplitOnCampaign = true },
			events:  []ev{{visitor: "v", at: "10:00:00.000", campaign: "A"}, {visitor: "v", at: "10:05:00.000", campaign: "B"}, {visitor: "v", at: "10:06:00.000"}},
			want:    []string{"s1", "s2", "s2"},
			reasons: []Reason{FirstVisit, Campaign, Campaign}},
		{name: "same visitor id on two sites is independent",
			events: []ev{{visitor: "v", site: "a", at: "10:00:00.000"}, {visitor: "v", site: "b", at: "10:01:00.000"}, {visitor: "v", site: "a", at: "10:02:00.000"}},
			want:   []string{"s1", "s2", "s1"}},
		{name: "visitors are independent",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "w", at: "10:00:01.000"}, {visitor: "v", at: "10:29:00.000"}},
			want:   []string{"s1", "s2", "s1"}},
		{name: "late event after its session was evicted opens its own",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "w", at: "11:00:00.000"}, {visitor: "v", at: "10:20:00.000"}},
			want:   []string{"s1", "s2", "s3"},
			late:   []bool{false, false, true}},
		{name: "zero disorder is honoured: any event behind the clock is late",
			rules:  func(r *Rules) { r.Disorder = 0 },
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:00:50.000"}, {visitor: "v", at: "10:00:49.999"}, {visitor: "v", at: "10:00:50.000"}},
			want:   []string{"s1", "s1", "s1", "s1"},
			late:   []bool{false, false, true, false}},
		// Closing is exact and checked for every event: with the clock
		// exactly gap + disorder past v's latest event, v's late event
		// still joins; 1 ms more and v's session is closed, even though no
		// sweep has evicted it yet (the last one was at 10:32:00).
		{name: "closing exactly at gap + disorder: still open",
			events: []ev{{visitor: "v", at: "10:00:30.000"}, {visitor: "w", at: "10:32:00.000"}, {visitor: "w", at: "10:32:30.000"}, {visitor: "v", at: "10:20:00.000"}},
			want:   []string{"s1", "s2", "s2", "s1"},
			late:   []bool{false, false, false, true}},
		{name: "closing 1 ms past gap + disorder: closed",
			events:  []ev{{visitor: "v", at: "10:00:30.000"}, {visitor: "w", at: "10:32:00.000"}, {visitor: "w", at: "10:32:30.001"}, {visitor: "v", at: "10:20:00.000"}},
			want:    []string{"s1", "s2", "s2", "s3"},
			reasons: []Reason{FirstVisit, FirstVisit, FirstVisit, Inactivity},
			late:    []bool{false, false, false, true}},
		{name: "an event exactly between two sessions joins the earlier",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:31:00.000"}, {visitor: "v", at: "10:15:30.000"}},
			want:   []string{"s1", "s2", "s1"},
			late:   []bool{false, false, true},
			bridge: []bool{false, false, true}},
		{name: "two events in the same millisecond are one session",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:00:00.000"}},
			want:   []string{"s1", "s1"}},
		{name: "the same event id delivered twice is counted once",
			events: []ev{{visitor: "v", at: "10:00:00.000", id: "a"}, {visitor: "v", at: "10:00:00.000", id: "a"}, {visitor: "v", at: "10:01:00.000"}},
			want:   []string{"s1", "s1", "s1"},
			dup:    []bool{false, true, false}},
		// Redelivered hours after its session closed and was evicted: the
		// partition's record of closed sessions' ids still knows it.
		{name: "redelivery after its session closed is counted once",
			events: []ev{{visitor: "v", at: "10:00:00.000", id: "a"}, {visitor: "w", at: "15:00:00.000"}, {visitor: "v", at: "10:00:00.000", id: "a"},
				{visitor: "v", at: "15:00:01.000"}},
			want: []string{"s1", "s2", "", "s3"},
			dup:  []bool{false, false, true, false}},
		{name: "redelivery 23 h after its session closed is counted once",
			events: []ev{{visitor: "v", at: "10:00:00.000", id: "a"}, {visitor: "w", at: "10:40:00.000"}, {visitor: "w", at: "+1d 09:30:00.000"},
				{visitor: "v", at: "10:00:00.000", id: "a"}},
			want: []string{"s1", "s2", "s3", ""},
			dup:  []bool{false, false, false, true}},
		{name: "an event up to the skew ahead of its record is sessionized",
			events: []ev{{visitor: "v", at: "10:01:00.000", record: "10:00:00.000"}, {visitor: "v", at: "10:01:10.000"}},
			want:   []string{"s1", "s1"},
			quar:   []bool{false, false}},
		{name: "an event 1 ms more ahead of its record is quarantined",
			events: []ev{{visitor: "v", at: "10:01:00.001", record: "10:00:00.000"}, {visitor: "v", at: "10:00:10.000"}},
			want:   []string{"", "s1"},
			quar:   []bool{true, false}},
		// One event from the year 2100 neither moves the clock (the next
		// event is not late) nor closes the open session.
		{name: "a year 2100 event is quarantined, the clock unchanged",
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "w", at: "+27028d 10:00:00.000", record: "10:00:01.000"},
				{visitor: "v", at: "10:00:02.000"}, {visitor: "v", at: "10:05:00.000"}},
			want: []string{"s1", "", "s1", "s1"},
			late: []bool{false, false, false, false},
			quar: []bool{false, true, false, false}},
		{name: "zero skew refuses any event ahead of its record",
			rules:  func(r *Rules) { r.MaxClockSkew = 0 },
			events: []ev{{visitor: "v", at: "10:00:00.000", record: "10:00:00.000"}, {visitor: "v", at: "10:00:00.001", record: "10:00:00.000"}},
			want:   []string{"s1", ""},
			quar:   []bool{false, true}},
		// At the cap the least recently active session is closed early: the
		// next event of its visitor opens a new session, and a redelivery of
		// one of its events is still counted once.
		{name: "a partition at its open-session cap",
			rules: func(r *Rules) { r.MaxOpenSessions = 2 },
			events: []ev{{visitor: "v", at: "10:00:00.000", id: "v1"}, {visitor: "w", at: "10:01:00.000"}, {visitor: "x", at: "10:02:00.000"},
				{visitor: "v", at: "10:03:00.000"}, {visitor: "v", at: "10:00:00.000", id: "v1"}},
			want: []string{"s1", "s2", "s3", "s4", ""},
			dup:  []bool{false, false, false, false, true}},
		// A site's own split rules override the partition's, per event.
		{name: "a site switches the midnight split on",
			events: []ev{{visitor: "v", at: "23:50:00.000", opts: SiteOptions{SplitAtMidnight: On}},
				{visitor: "v", at: "+1d 00:10:00.000", opts: SiteOptions{SplitAtMidnight: On}}},
			want:    []string{"s1", "s2"},
			reasons: []Reason{FirstVisit, Midnight}},
		{name: "a site switches the midnight split off",
			rules: func(r *Rules) { r.SplitAtMidnight = true },
			events: []ev{{visitor: "v", at: "23:50:00.000", opts: SiteOptions{SplitAtMidnight: Off}},
				{visitor: "v", at: "+1d 00:10:00.000", opts: SiteOptions{SplitAtMidnight: Off}}},
			want: []string{"s1", "s1"}},
		{name: "a site's midnight split uses its zone",
			zone: berlin,
			events: []ev{{visitor: "v", at: "22:50:00.000", opts: SiteOptions{SplitAtMidnight: On}},
				{visitor: "v", at: "23:10:00.000", opts: SiteOptions{SplitAtMidnight: On}}},
			want: []string{"s1", "s2"}},
		{name: "a site switches the campaign split on",
			events: []ev{{visitor: "v", at: "10:00:00.000", campaign: "A", opts: SiteOptions{SplitOnCampaign: On}},
				{visitor: "v", at: "10:05:00.000", campaign: "B", opts: SiteOptions{SplitOnCampaign: On}}},
			want:    []string{"s1", "s2"},
			reasons: []Reason{FirstVisit, Campaign}},
		{name: "a site switches the campaign split off",
			rules: func(r *Rules) { r.SplitOnCampaign = true },
			events: []ev{{visitor: "v", at: "10:00:00.000", campaign: "A", opts: SiteOptions{SplitOnCampaign: Off}},
				{visitor: "v", at: "10:05:00.000", campaign: "B", opts: SiteOptions{SplitOnCampaign: Off}}},
			want: []string{"s1", "s1"}},
		{name: "inherit follows the partition's rules",
			rules: func(r *Rules) { r.SplitOnCampaign = true },
			events: []ev{{visitor: "v", at: "10:00:00.000", campaign: "A"},
				{visitor: "v", at: "10:05:00.000", campaign: "B", opts: SiteOptions{SplitAtMidnight: On}}},
			want:    []string{"s1", "s2"},
			reasons: []Reason{FirstVisit, Campaign}},
		{name: "one site's options leave another site's events alone",
			events: []ev{{visitor: "v", site: "a", at: "23:50:00.000", opts: SiteOptions{SplitAtMidnight: On}},
				{visitor: "v", site: "b", at: "23:51:00.000"},
				{visitor: "v", site: "a", at: "+1d 00:10:00.000", opts: SiteOptions{SplitAtMidnight: On}},
				{visitor: "v", site: "b", at: "+1d 00:11:00.000"}},
			want: []string{"s1", "s2", "s3", "s2"}},
		// A change is a rule change: it applies from the next event on,
		// to the sessions already open too; earlier decisions stand.
		{name: "a site's option changed mid-session applies from then on",
			events: []ev{{visitor: "v", at: "23:40:00.000"}, {visitor: "v", at: "+1d 00:05:00.000"},
				{visitor: "v", at: "+1d 00:10:00.000", opts: SiteOptions{SplitAtMidnight: On}}},
			want:    []string{"s1", "s1", "s2"},
			reasons: []Reason{FirstVisit, FirstVisit, Midnight}},
		// A site's own gap: shorter is honoured as set, longer up to the
		// partition's MaxSiteGap, beyond it cut to that; closing stays
		// exact at the site's gap + disorder.
		{name: "a site's shorter gap",
			events: []ev{{visitor: "v", at: "10:00:00.000", opts: SiteOptions{Gap: 10 * time.Minute}},
				{visitor: "v", at: "10:10:00.000", opts: SiteOptions{Gap: 10 * time.Minute}},
				{visitor: "v", at: "10:20:00.001", opts: SiteOptions{Gap: 10 * time.Minute}}},
			want:    []string{"s1", "s1", "s2"},
			reasons: []Reason{FirstVisit, FirstVisit, Inactivity}},
		{name: "a site's longer gap is cut to the partition's gap without MaxSiteGap",
			events: []ev{{visitor: "v", at: "10:00:00.000", opts: SiteOptions{Gap: time.Hour}},
				{visitor: "v", at: "10:30:00.001", opts: SiteOptions{Gap: time.Hour}}},
			want: []string{"s1", "s2"}},
		{name: "a site's longer gap within MaxSiteGap",
			rules: func(r *Rules) { r.MaxSiteGap = 2 * time.Hour },
			events: []ev{{visitor: "v", at: "10:00:00.000", opts: SiteOptions{Gap: time.Hour}},
				{visitor: "v", at: "11:00:00.000", opts: SiteOptions{Gap: time.Hour}},
				{visitor: "v", at: "12:00:00.001", opts: SiteOptions{Gap: time.Hour}}},
			want:    []string{"s1", "s1", "s2"},
			reasons: []Reason{FirstVisit, FirstVisit, Inactivity}},
		{name: "a site's gap beyond MaxSiteGap is cut to it",
			rules: func(r *Rules) { r.MaxSiteGap = time.Hour },
			events: []ev{{visitor: "v", at: "10:00:00.000", opts: SiteOptions{Gap: 5 * time.Hour}},
				{visitor: "v", at: "11:00:00.000", opts: SiteOptions{Gap: 5 * time.Hour}},
				{visitor: "v", at: "12:00:00.001", opts: SiteOptions{Gap: 5 * time.Hour}}},
			want: []string{"s1", "s1", "s2"}},
		{name: "MaxSiteGap leaves the partition's gap for other sites",
			rules:  func(r *Rules) { r.MaxSiteGap = 2 * time.Hour },
			events: []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:30:00.001"}},
			want:   []string{"s1", "s2"}},
		// With a long site gap in the partition, sessions stay in memory for
		// it; a late event of a default site still sees exact closing at
		// 30 min + disorder (here the clock is 32:00.001 past v's last event).
		{name: "closing stays exact at the site's gap while sessions stay in memory longer",
			rules: func(r *Rules) { r.MaxSiteGap = 2 * time.Hour },
			events: []ev{{visitor: "v", at: "10:00:30.000"}, {visitor: "w", at: "10:32:00.000", opts: SiteOptions{Gap: time.Hour}},
				{visitor: "w", at: "10:32:30.001", opts: SiteOptions{Gap: time.Hour}}, {visitor: "v", at: "10:20:00.000"}},
			want:    []string{"s1", "s2", "s2", "s3"},
			reasons: []Reason{FirstVisit, FirstVisit, FirstVisit, Inactivity},
			late:    []bool{false, false, false, true}},
		{name: "a site's long gap: a session stays open past the partition's gap + disorder",
			rules: func(r *Rules) { r.MaxSiteGap = 2 * time.Hour },
			events: []ev{{visitor: "v", at: "10:00:00.000", opts: SiteOptions{Gap: time.Hour}}, {visitor: "w", at: "10:50:00.000"},
				{visitor: "v", at: "10:55:00.000", opts: SiteOptions{Gap: time.Hour}}},
			want: []string{"s1", "s2", "s1"}},
		{name: "a shorter gap set is honoured",
			rules:   func(r *Rules) { r.Gap = 10 * time.Minute },
			events:  []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:10:00.000"}, {visitor: "v", at: "10:20:00.001"}},
			want:    []string{"s1", "s1", "s2"},
			reasons: []Reason{FirstVisit, FirstVisit, Inactivity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, as := run(t, rulesWith(tt.rules), tt.zone, tt.events)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("sessions %v, want %v", got, tt.want)
			}
			for i, a := range as {
				if tt.reasons != nil && a.Reason != tt.reasons[i] {
					t.Errorf("event %d reason %s, want %s", i, a.Reason, tt.reasons[i])
				}
				if tt.late != nil && a.Late != tt.late[i] {
					t.Errorf("event %d late %v, want %v", i, a.Late, tt.late[i])
				}
				if tt.bridge != nil && a.Bridging != tt.bridge[i] {
					t.Errorf("event %d bridging %v, want %v", i, a.Bridging, tt.bridge[i])
				}
				if a.Duplicate != (tt.dup != nil && tt.dup[i]) {
					t.Errorf("event %d duplicate %v, want %v", i, a.Duplicate, tt.dup != nil && tt.dup[i])
				}
				if a.Quarantined != (tt.quar != nil && tt.quar[i]) {
					t.Errorf("event %d quarantined %v, want %v", i, a.Quarantined, tt.quar != nil && tt.quar[i])
				}
			}
		})
	}
}

func TestOpenerAndStart(t *testing.T) {
	_, as := run(t, DefaultRules(), nil, []ev{{visitor: "v", at: "10:00:00.000"}, {visitor: "v", at: "10:00:50.000"}, {visitor: "v", at: "10:00:20.000"}})
	if !as[0].Opens || as[1].Opens || as[2].Opens {
		t.Fatalf("only the first event opens: %+v", as)
	}
	for _, a := range as {
		if a.StartMs != as[0].StartMs || a.SessionID != as[0].SessionID {
			t.Fatalf("start or id changed within a session: %+v", as)
		}
	}
}

// A checkpoint taken mid-stream and restored gives exactly the decisions an
// uninterrupted run gives.
func TestStateRoundTripReplaysIdentically(t *testing.T) {
	events := checkpointStream()
	whole := newPartition(t, DefaultRules())
	var want []Assignment
	for _, in := range events {
		want = append(want, whole.Assign(in))
	}
	for _, cut := range []int{1, 500, 1333, 1999} {
		p := newPartition(t, DefaultRules())
		for _, in := range events[:cut] {
			p.Assign(in)
		}
		state, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		restored := newPartition(t, DefaultRules())
		if err := restored.UnmarshalBinary(state); err != nil {
			t.Fatal(err)
		}
		again, _ := restored.MarshalBinary()
		if !bytes.Equal(state, again) {
			t.Fatalf("cut %d: state does not round-trip", cut)
		}
		for i, in := range events[cut:] {
			if got := restored.Assign(in); got != want[cut+i] {
				t.Fatalf("cut %d, event %d: %+v, want %+v", cut, cut+i, got, want[cut+i])
			}
		}
	}
}

func TestUnmarshalRejectsCorruptState(t *testing.T) {
	p := newPartition(t, DefaultRules())
	p.Assign(Input{EventID: uuid.New(), Site: "s", Visitor: uuid.New(), TimeMs: 1})
	state, _ := p.MarshalBinary()
	for _, bad := range [][]byte{nil, {99}, state[:len(state)-3], append(append([]byte{}, state...), 1)} {
		if err := newPartition(t, DefaultRules()).UnmarshalBinary(bad); err == nil {
			t.Errorf("state %x accepted", bad)
		}
	}
}

func TestSessionIDDeterministic(t *testing.T) {
	v, e := uuid.New(), uuid.New()
	if SessionID("s", v, e, 5) != SessionID("s", v, e, 5) {
		t.Fatal("same inputs, different ids")
	}
	if SessionID("s", v, e, 5) == SessionID("t", v, e, 5) || SessionID("s", v, e, 5) == SessionID("s", v, e, 6) {
		t.Fatal("different inputs, same id")
	}
}

func BenchmarkAssign(b *testing.B) {
	p := newPartition(b, DefaultRules())
	visitors := make([]uuid.UUID, 100_000)
	for i := range visitors {
		visitors[i] = uuid.New()
	}
	ids := make([]uuid.UUID, 1<<16)
	for i := range ids {
		ids[i] = uuid.New() // distinct: a repeated id is a redelivery
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// 1 ms apart: 60,000 events per minute of event time, as at 1k
		// events/s with a one-minute sweep; each visitor returns every 100 s.
		p.Assign(Input{EventID: ids[i%len(ids)], Site: "site", Visitor: visitors[i%len(visitors)], TimeMs: int64(i)})
	}
}

// Every value set is honoured as it is, and only impossible ones are refused,
// each naming its field.
func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name  string
		rules func(*Rules)
		bad   []string // fields refused
	}{
		{name: "defaults"},
		{name: "zero disorder is a valid setting", rules: func(r *Rules) { r.Disorder = 0 }},
		{name: "a gap of one millisecond", rules: func(r *Rules) { r.Gap = time.Millisecond }},
		{name: "a maximum length below the gap", rules: func(r *Rules) { r.MaxLength = time.Minute }},
		{name: "negative disorder", rules: func(r *Rules) { r.Disorder = -time.Second }, bad: []string{"Disorder"}},
		{name: "zero skew, no cap, no id record", rules: func(r *Rules) { r.MaxClockSkew, r.MaxOpenSessions, r.RememberIDs = 0, 0, 0 }},
		{name: "negative protections", rules: func(r *Rules) { r.MaxClockSkew, r.MaxOpenSessions, r.RememberIDs = -1, -1, -1 },
			bad: []string{"MaxClockSkew", "MaxOpenSessions", "RememberIDs"}},
		{name: "a longest site gap below the gap", rules: func(r *Rules) { r.MaxSiteGap = time.Minute }},
		{name: "negative longest site gap", rules: func(r *Rules) { r.MaxSiteGap = -time.Minute }, bad: []string{"MaxSiteGap"}},
		{name: "zero gap", rules: func(r *Rules) { r.Gap = 0 }, bad: []string{"Gap"}},
		{name: "negative gap", rules: func(r *Rules) { r.Gap = -time.Minute }, bad: []string{"Gap"}},
		{name: "zero maximum length", rules: func(r *Rules) { r.MaxLength = 0 }, bad: []string{"MaxLength"}},
		{name: "the zero Rules", rules: func(r *Rules) { *r = Rules{} }, bad: []string{"Gap", "MaxLength"}},
		{name: "all three", rules: func(r *Rules) { r.Gap, r.MaxLength, r.Disorder = -1, -1, -1 }, bad: []string{"Gap", "MaxLength", "Disorder"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := rulesWith(tt.rules)
			err := rules.Validate()
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var re *RuleError
					if !errors.As(e, &re) {
						t.Fatalf("%v is not a *RuleError", e)
					}
					if !strings.Contains(err.Error(), re.Field+" must be "+re.Want+", got "+fmt.Sprint(re.Value)) {
						t.Errorf("message %q does not say what %s must be", err, re.Field)
					}
					got = append(got, re.Field)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.bad) {
				t.Fatalf("refused %v, want %v (err: %v)", got, tt.bad, err)
			}
			p, err := NewPartition(rules)
			if (err != nil) != (tt.bad != nil) || (p == nil) != (tt.bad != nil) {
				t.Fatalf("NewPartition: %v, %v; Validate refused %v", p, err, tt.bad)
			}
		})
	}
}

func TestDefaultRules(t *testing.T) {
	r := DefaultRules()
	if r.Gap != 30*time.Minute || r.MaxLength != 24*time.Hour || r.Disorder != 2*time.Minute || r.SplitAtMidnight || r.SplitOnCampaign {
		t.Fatalf("default rules %+v differ from the documented defaults (30 min gap, 24 h maximum, 2 min disorder, no splits)", r)
	}
	if r.MaxClockSkew != time.Minute || r.MaxOpenSessions != 1_000_000 || r.RememberIDs != 2_000_000 {
		t.Fatalf("default protections %+v differ from the documented ones (1 min skew, 1,000,000 open sessions, 2,000,000 ids)", r)
	}
}

// BenchmarkAssignMidnight is BenchmarkAssign with the midnight rule on and a
// site zone other than UTC, as the sessionizer runs it.
func BenchmarkAssignMidnight(b *testing.B) {
	zone, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	p := newPartition(b, rulesWith(func(r *Rules) { r.SplitAtMidnight = true }))
	visitors := make([]uuid.UUID, 100_000)
	for i := range visitors {
		visitors[i] = uuid.New()
	}
	id := uuid.New()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Assign(Input{EventID: id, Site: "site", Visitor: visitors[i%len(visitors)], TimeMs: int64(i), Zone: zone})
	}
}

func TestSwitchOr(t *testing.T) {
	for _, tt := range []struct {
		s        Switch
		def, out bool
	}{{Inherit, false, false}, {Inherit, true, true}, {Off, true, false}, {Off, false, false}, {On, false, true}, {On, true, true}} {
		if got := tt.s.Or(tt.def); got != tt.out {
			t.Errorf("Switch(%d).Or(%v) = %v, want %v", tt.s, tt.def, got, tt.out)
		}
	}
}

// A sweep passes visitors by a lower bound of their sessions' latest
// events (sessions.latestFloorS), which goes stale as their events arrive:
// it must still close exactly the sessions whose latest event is before
// the horizon, and leave every bound a lower bound.
func TestEvictClosesExactlyWhatIsPastTheHorizon(t *testing.T) {
	const minute = int64(time.Minute / time.Millisecond)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	// Each visitor's events, minutes after base, in log order: a session
	// extended after its bound was set, one never extended, a visitor with
	// two sessions (the second opened before the first's latest event, so
	// the list's bound is the first's), and one that starts late.
	traffic := map[string][]int64{
		"extended": {0, 10, 20, 25},
		"single":   {5},
		"two":      {1, 3, 0 - 90, 28},
		"late":     {27},
	}
	order := []string{"extended", "single", "two", "late"}
	for _, horizonMin := range []int64{-100, -89, 0, 1, 4, 5, 6, 21, 25, 26, 28, 29} {
		t.Run(fmt.Sprint(horizonMin), func(t *testing.T) {
			p := newPartition(t, DefaultRules())
			want := map[string][]int64{} // visitor -> latest events of its sessions
			for i := 0; i < 4; i++ {
				for _, name := range order {
					if i >= len(traffic[name]) {
						continue
					}
					ms := base + traffic[name][i]*minute
					a := p.Assign(Input{EventID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(fmt.Sprint(name, i))), Site: "s",
						Visitor: visitorID(name), TimeMs: ms})
					if a.Duplicate || a.Quarantined {
						t.Fatalf("%s %d: %+v", name, i, a)
					}
				}
			}
			horizon := base + horizonMin*minute
			for k, v := range p.visitors {
				for _, s := range v.list() {
					if s.lastMs >= horizon {
						want[fmt.Sprint(k.visitor)] = append(want[fmt.Sprint(k.visitor)], s.lastMs)
					}
				}
			}
			p.evict(horizon)
			got, n := map[string][]int64{}, 0
			for k, v := range p.visitors {
				earliest := int64(math.MaxInt64)
				for _, s := range v.list() {
					got[fmt.Sprint(k.visitor)] = append(got[fmt.Sprint(k.visitor)], s.lastMs)
					earliest = min(earliest, s.lastMs)
					n++
				}
				if int64(v.latestFloorS)*1000 > earliest {
					t.Errorf("visitor %v: bound %d s is after its earliest latest event %d ms", k.visitor, v.latestFloorS, earliest)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("kept %v, want %v", got, want)
			}
			if n != p.OpenSessions() {
				t.Errorf("OpenSessions() = %d, %d in memory", p.OpenSessions(), n)
			}
		})
	}
}

// The sweep's bound lives in what was the map value's padding: the value
// stays 16 bytes, so a map slot (key and value) does not grow.
func TestSessionsValueStaysSixteenBytes(t *testing.T) {
	if got := unsafe.Sizeof(sessions{}); got != 16 {
		t.Errorf("sessions is %d bytes, want 16 (the heap per open session counts each map slot)", got)
	}
}

// A closed session leaves memory within a sixth of the longest gap after it
// closed (at most five minutes), whatever the gap: with a fixed five
// minutes, a compressed 2 s gap kept every session of a run in memory.
func TestClosedSessionsLeaveMemorySoon(t *testing.T) {
	tests := []struct {
		gap, disorder time.Duration
		within        time.Duration // after closing (gap + disorder)
	}{
		{gap: 30 * time.Minute, disorder: 2 * time.Minute, within: 5 * time.Minute},
		{gap: 2 * time.Minute, disorder: 10 * time.Second, within: 20 * time.Second},
		{gap: 2 * time.Second, disorder: 130 * time.Millisecond, within: 333 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.gap.String(), func(t *testing.T) {
			rules := rulesWith(func(r *Rules) { r.Gap, r.Disorder, r.MaxSiteGap = tt.gap, tt.disorder, 0 })
			p := newPartition(t, rules)
			t0 := day0.UnixMilli()
			closeOne(p, "a", "a1", t0)
			closes := t0 + (tt.gap + tt.disorder).Milliseconds()
			// Another visitor's events move the clock on, a millisecond
			// past each step, until the first session leaves memory.
			step := max(tt.within.Milliseconds()/50, 1)
			left := int64(-1)
			for ms := t0 + 1; ms <= closes+2*tt.within.Milliseconds(); ms += step {
				p.Assign(Input{EventID: uuid.New(), Site: "site", Visitor: visitorID("b"), TimeMs: ms})
				if _, ok := p.visitors[visitorKey{site: 0, visitor: visitorID("a")}]; !ok {
					left = ms
					break
				}
			}
			if left < 0 {
				t.Fatalf("the session closed at +%s is still in memory at +%s", time.Duration(closes-t0)*time.Millisecond,
					time.Duration(closes-t0)*time.Millisecond+2*tt.within)
			}
			if left < closes {
				t.Errorf("evicted at +%dms, before it closed (+%dms)", left-t0, closes-t0)
			}
			if late := time.Duration(left-closes) * time.Millisecond; late > tt.within+time.Duration(step)*time.Millisecond {
				t.Errorf("evicted %s after it closed, want within %s", late, tt.within)
			}
		})
	}
}
