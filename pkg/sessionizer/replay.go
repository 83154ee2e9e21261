package sessionizer

import (
	"flag"
	"strconv"
	"time"

	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/store"
)

// What a replay of stored history (pkg/resessionize) shares with the live
// sessionizer, so that both hand the rules the same input, take the same
// flags and write the same rows: one owner for each.

// RegisterRuleFlags adds the session rules' flags (-session-gap,
// -session-max-length, -allowed-disorder, -split-at-midnight,
// -split-on-campaign, -max-clock-skew, -max-open-sessions, -remember-ids,
// -max-site-session-gap)
// with session.DefaultRules' values. Config.RegisterFlags
// uses it; so does `teller resessionize`.
func RegisterRuleFlags(fs *flag.FlagSet, r *session.Rules) {
	d := session.DefaultRules()
	fs.DurationVar(&r.Gap, flagGap, d.Gap, "inactivity that ends a session")
	fs.DurationVar(&r.MaxLength, flagMaxLength, d.MaxLength, "a session this old ends at its next event")
	fs.DurationVar(&r.Disorder, flagDisorder, d.Disorder, "how far behind its partition's clock an event may arrive before it is flagged late (0: any event behind it)")
	fs.BoolVar(&r.SplitAtMidnight, flagSplitAtMidnight, d.SplitAtMidnight, "start a new session at midnight in the site's time zone")
	fs.BoolVar(&r.SplitOnCampaign, flagSplitOnCampaign, d.SplitOnCampaign, "start a new session when the campaign parameters change")
	fs.DurationVar(&r.MaxClockSkew, flagMaxClockSkew, d.MaxClockSkew, "an event dated further ahead of its Kafka record's timestamp is quarantined in rejected_events")
	fs.IntVar(&r.MaxOpenSessions, flagMaxOpenSessions, d.MaxOpenSessions, "open sessions per partition; at the cap the least recently active sixteenth is closed early (0: no cap)")
	fs.IntVar(&r.RememberIDs, flagRememberIDs, d.RememberIDs, "event ids of closed sessions each partition remembers for a day, to count a redelivery once (0: none)")
	fs.DurationVar(&r.MaxSiteGap, flagMaxSiteGap, d.MaxSiteGap, "longest gap a site may set for itself (site edit -session-gap); sessions stay in memory for the longer of it and -session-gap (0: -session-gap, sites may only shorten it)")
}

// RuleFlags are the command-line flags that give the sessionizer r, for
// messages that tell an operator how to run it.
func RuleFlags(r session.Rules) []string {
	return []string{
		"-" + flagGap + "=" + r.Gap.String(),
		"-" + flagMaxLength + "=" + r.MaxLength.String(),
		"-" + flagDisorder + "=" + r.Disorder.String(),
		"-" + flagSplitAtMidnight + "=" + boolString(r.SplitAtMidnight),
		"-" + flagSplitOnCampaign + "=" + boolString(r.SplitOnCampaign),
		"-" + flagMaxClockSkew + "=" + r.MaxClockSkew.String(),
		"-" + flagMaxOpenSessions + "=" + strconv.Itoa(r.MaxOpenSessions),
		"-" + flagRememberIDs + "=" + strconv.Itoa(r.RememberIDs),
		"-" + flagMaxSiteGap + "=" + r.MaxSiteGap.String(),
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// ValidateRules checks r as Config.Validate does, naming the flags.
func ValidateRules(r session.Rules) error {
	c := DefaultConfig()
	c.Rules = r
	return c.Validate()
}

// SessionInput is what the rules are told of an event whose row r was made
// by the enrichment (or read back from the events table): the session
// split compares exactly the stored campaign columns, the figures take
// the stored attributes, and the record's timestamp is the stored one
// (kafka_ts_ms), so a replay of the table is a replay of the log. facts
// receives the figures' view of r and must outlive the call to Assign.
func SessionInput(r *store.EventRow, newVisitor bool, zone *time.Location, opts session.SiteOptions, facts *session.Facts) session.Input {
	*facts = factsOf(r)
	return session.Input{
		EventID: r.EventID, Site: r.SiteID, Visitor: r.VisitorID, TimeMs: r.TimeMs, RecordMs: r.KafkaTimeMs,
		NewVisitor: newVisitor, CampaignKey: campaignKey(r), Zone: zone, Options: opts, Facts: facts,
	}
}

// WithSession writes the session decision a into r's session columns.
func WithSession(r *store.EventRow, a session.Assignment) { withSession(r, a) }

// VersionRow is a session version as session_versions stores it.
func VersionRow(f *session.Figures) store.SessionVersion { return versionRow(f) }
