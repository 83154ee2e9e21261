// Package resessionize owns re-sessionizing: replaying the stored history
// under other session rules into a fresh set of tables, comparing the
// figures per site, and switching the reports to the new tables in one
// RENAME, keeping the old ones for rollback (docs/resessionize.md).
//
// The source of record is the events table: every event the sessionizer
// placed is there with its Kafka partition and offset, so the replay feeds
// each partition's events to a pkg/session Partition in log order, exactly
// as the live sessionizer read them, and the rules decide as they would have
// live. What the live sessionizer did not store changes no decision: a
// redelivery the open session already held moves nothing (not even the
// clock), and rejected messages never reached the rules. The one input not
// stored as such, whether the collector minted the visitor id, is exactly
// "opened a session as a first visit", since a minted id's first event is
// its visitor's first in the log under any rules.
//
// The replay writes to a staging database (its own migrated schema) with
// pkg/store's writes, the rows made by pkg/sessionizer's mapping, and ends
// every partition with a sessionizer checkpoint of the new rules' state at
// the old checkpoint's offset. The switch swaps events, session_versions
// and sessionizer_checkpoints between the two databases in one
// RENAME TABLE statement, so the views that read them by name (sessions)
// see the new history at once, the sessionizers resume from checkpoints
// consistent with the new rules, and the same statement run again rolls
// back. The sessionizer group must be stopped for the whole run: Run checks
// it before replaying and again before the switch.
package resessionize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/teller-analytics/teller/pkg/session"
	"github.com/teller-analytics/teller/pkg/sessionizer"
	"github.com/teller-analytics/teller/pkg/store"
)

// Tables are the tables a switch swaps: what the sessionizer writes. No
// materialized view reads them (0060 dropped the last, sessions_mv): a
// rename would leave one attached to the old table on current releases. Everything else (sites, settings, users, rejected
// messages) stays. Swap back with Rollback.
var Tables = []string{"events", "session_versions", "sessionizer_checkpoints"}

// Group tells whether the sessionizers' consumer group has members.
type Group interface {
	// Members returns a description of each live member of the group.
	Members(ctx context.Context) ([]string, error)
}

// Options configure a run.
type Options struct {
	// ClickHouse reaches the live database; the staging database is opened
	// with the same settings.
	ClickHouse store.Config
	// Rules are the new session rules.
	Rules session.Rules
	// Group and Topic name the sessionizer checkpoints the run replaces
	// (sessionizer.DefaultGroup, bus.DefaultTopic).
	Group, Topic string
	// Members checks that the sessionizer group is stopped.
	Members Group
	// DryRun compares the figures and drops the staging database: nothing
	// is switched.
	DryRun bool
	// Staging is the staging database's name; empty for
	// <database>_resess_<UTC time>.
	Staging string
	// Out receives the comparison and the instructions; Progress the
	// progress lines (nil for none).
	Out, Progress io.Writer
	// ProgressEvery is how often a progress line is printed (2 s if 0).
	ProgressEvery time.Duration
	// ChunkOffsets is how many offsets of a partition one read covers
	// (100,000 if 0): each read sorts at most that many rows, so the first
	// row comes quickly and the server's sort stays small, whatever the
	// history's length.
	ChunkOffsets int64
	// MaxBatch is how many rows are written at once (20,000 if 0).
	MaxBatch int
	Logger   *slog.Logger
}

// Validate checks the options without any I/O, naming the flags.
func (o *Options) Validate() error {
	var errs []error
	if err := sessionizer.ValidateRules(o.Rules); err != nil {
		errs = append(errs, err)
	}
	if o.Group == "" {
		errs = append(errs, errors.New("-kafka-group must be a consumer group name"))
	}
	if o.Topic == "" {
		errs = append(errs, errors.New("-kafka-topic must be a topic name"))
	}
	if o.Staging != "" && !store.ValidDatabaseName(o.Staging) {
		errs = append(errs, fmt.Errorf("-staging-database %q: want letters, digits and _, not starting with a digit", o.Staging))
	}
	if o.ChunkOffsets < 0 {
		errs = append(errs, fmt.Errorf("resessionize: ChunkOffsets must be >= 0 (0: the default), got %d", o.ChunkOffsets))
	}
	if o.MaxBatch < 0 {
		errs = append(errs, fmt.Errorf("resessionize: MaxBatch must be >= 0 (0: the default), got %d", o.MaxBatch))
	}
	return errors.Join(errs...)
}

// Result is what a run did.
type Result struct {
	Staging    string
	Events     int64 // events replayed (rows written to the new events table)
	Partitions int
	Sites      []SiteChange
	Switched   bool
	Elapsed    time.Duration
}

// Run replays the live database's history under o.Rules into a staging
// database, prints the per-site comparison and, unless o.DryRun, switches.
func Run(ctx context.Context, live *store.DB, o Options) (res Result, err error) {
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 20_000
	}
	if o.ChunkOffsets == 0 {
		o.ChunkOffsets = 100_000
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 2 * time.Second
	}
	start := time.Now()
	res = Result{Staging: o.Staging}
	if res.Staging == "" {
		res.Staging = live.Database() + "_resess_" + start.UTC().Format("20060102T150405")
	}
	if res.Staging == live.Database() {
		return res, fmt.Errorf("resessionize: the staging database must not be the live one (%s)", live.Database())
	}
	if err := checkStopped(ctx, o); err != nil {
		return res, err
	}
	if err := checkOneTopic(ctx, live, o.Topic); err != nil {
		return res, err
	}
	before, err := checkpointMark(ctx, live, o.Group, o.Topic)
	if err != nil {
		return res, err
	}

	// An existing database may hold the old tables of an earlier switch:
	// never reuse one.
	var exists uint64
	if err := scanOne(ctx, live, "SELECT count() FROM system.databases WHERE name = ?", []any{res.Staging}, &exists); err != nil {
		return res, fmt.Errorf("resessionize: look for database %s: %w", res.Staging, err)
	}
	if exists > 0 {
		return res, fmt.Errorf("resessionize: database %s exists (the old tables of an earlier switch?): drop it or choose another -staging-database", res.Staging)
	}
	scfg := o.ClickHouse
	scfg.Database = res.Staging
	stg, err := store.Open(ctx, scfg, o.Logger)
	if err != nil {
		return res, fmt.Errorf("resessionize: create staging database %s: %w", res.Staging, err)
	}
	defer stg.Close()
	// A run that fails before its switch leaves nothing behind: its
	// staging database never held a live table.
	defer func() {
		if err != nil && !res.Switched {
			if derr := dropDatabase(context.WithoutCancel(ctx), live, res.Staging); derr != nil {
				o.Logger.Warn("could not drop the staging database of a failed run", "database", res.Staging, "err", derr)
			}
		}
	}()
	if err := stg.Migrate(ctx); err != nil {
		return res, fmt.Errorf("resessionize: schema of staging database %s: %w", res.Staging, err)
	}
	if err := markStaging(ctx, stg, live.Database(), o.Rules, start); err != nil {
		return res, err
	}
	o.Logger.Debug("staging database ready", "database", res.Staging, "after", time.Since(start))
	fmt.Fprintf(o.Out, "Replaying the history of database %s under %s\n", live.Database(), strings.Join(sessionizer.RuleFlags(o.Rules), " "))

	n, parts, err := replay(ctx, live, stg, o)
	if err != nil {
		return res, err
	}
	res.Events, res.Partitions = n, parts
	o.Logger.Debug("history replayed", "events", n, "after", time.Since(start))
	fmt.Fprintf(o.Out, "Replayed %d events of %d Kafka partitions.\n\n", n, parts)

	res.Sites, err = compare(ctx, live, live.Database(), res.Staging)
	if err != nil {
		return res, err
	}
	printChanges(o.Out, res.Sites)
	o.Logger.Debug("figures compared", "after", time.Since(start))
	res.Elapsed = time.Since(start)

	if o.DryRun {
		if err := dropDatabase(ctx, live, res.Staging); err != nil {
			return res, err
		}
		fmt.Fprintf(o.Out, "\nDry run: nothing was switched, and the staging tables were dropped.\n")
		return res, nil
	}

	// Nothing may have written to the live tables during the replay: its
	// result would be lost by the switch.
	if err := checkStopped(ctx, o); err != nil {
		return res, fmt.Errorf("%w; nothing was switched", err)
	}
	after, err := checkpointMark(ctx, live, o.Group, o.Topic)
	if err != nil {
		return res, err
	}
	if after != before {
		return res, fmt.Errorf("resessionize: sessionizer checkpoints of group %s changed during the replay (a sessionizer ran): nothing was switched; run again with the sessionizers stopped", o.Group)
	}
	if err := swap(ctx, live, stg); err != nil {
		return res, err
	}
	res.Switched = true
	printSwitched(o.Out, live.Database(), res.Staging, o.Rules)
	return res, nil
}

// Rollback swaps the tables of a switched run back: the live database gets
// the tables it had before that run, and the staging database the
// re-sessionized ones, so that a second Rollback switches to them again.
func Rollback(ctx context.Context, live *store.DB, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Staging == "" {
		return errors.New("resessionize: -rollback needs -staging-database: the database a switch printed")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if err := checkStopped(ctx, o); err != nil {
		return err
	}
	var n uint64
	if err := scanOne(ctx, live, "SELECT count() FROM system.databases WHERE name = ?", []any{o.Staging}, &n); err != nil {
		return fmt.Errorf("resessionize: look for database %s: %w", o.Staging, err)
	}
	if n == 0 {
		return fmt.Errorf("resessionize: no database %s: name the staging database a switch printed", o.Staging)
	}
	if err := scanOne(ctx, live, "SELECT count() FROM system.tables WHERE database = ? AND name = ?", []any{o.Staging, markTable}, &n); err != nil {
		return fmt.Errorf("resessionize: look for %s.%s: %w", o.Staging, markTable, err)
	}
	if n > 0 {
		err := scanOne(ctx, live, "SELECT count() FROM "+quoteIdent(o.Staging)+"."+markTable+" WHERE live_database = ?", []any{live.Database()}, &n)
		if err != nil {
			return fmt.Errorf("resessionize: read %s.%s: %w", o.Staging, markTable, err)
		}
	}
	if n == 0 {
		return fmt.Errorf("resessionize: database %s was not made by a run on database %s: nothing swapped", o.Staging, live.Database())
	}
	scfg := o.ClickHouse
	scfg.Database = o.Staging
	stg, err := store.Open(ctx, scfg, o.Logger)
	if err != nil {
		return fmt.Errorf("resessionize: open %s: %w", o.Staging, err)
	}
	defer stg.Close()
	if err := swap(ctx, live, stg); err != nil {
		return err
	}
	fmt.Fprintf(o.Out, `Swapped back: %s of database %s are the ones database %s held, and %s holds the others.
Start the sessionizers with the rules these tables were made with. Run the same command again to swap once more;
  clickhouse-client --query 'DROP DATABASE %s'
drops the tables it holds now.
`, strings.Join(Tables, ", "), live.Database(), o.Staging, o.Staging, quoteIdent(o.Staging))
	return nil
}

// checkpointMark changes whenever a checkpoint of the group is written.
// markTable, in a staging database only, says which live database and
// rules it was made for: Rollback swaps only with a database so marked.
const markTable = "resessionize_run"

func markStaging(ctx context.Context, stg *store.DB, liveDB string, r session.Rules, at time.Time) error {
	err := stg.Exec(ctx, "CREATE TABLE "+markTable+` (
    live_database String COMMENT 'Database whose history this one re-sessionized',
    rules         String COMMENT 'Sessionizer flags of the rules the replay applied',
    started_ms    UInt64 COMMENT 'When the run started, Unix ms'
) ENGINE = TinyLog`)
	if err == nil {
		err = stg.Exec(ctx, "INSERT INTO "+markTable+" (live_database, rules, started_ms) SELECT ?, ?, ?",
			liveDB, strings.Join(sessionizer.RuleFlags(r), " "), uint64(at.UnixMilli()))
	}
	if err != nil {
		return fmt.Errorf("resessionize: mark staging database %s: %w", stg.Database(), err)
	}
	return nil
}

func checkpointMark(ctx context.Context, db *store.DB, group, topic string) (string, error) {
	// Not count(): the table collapses checkpoints in background merges,
	// so its row count changes with no sessionizer running. A checkpoint
	// written meanwhile is a newer written_ms.
	rows, err := db.Query(ctx, `SELECT toString(uniqExact(partition)), toString(max(written_ms)) FROM sessionizer_checkpoints
 WHERE consumer_group = ? AND topic = ?`, group, topic)
	if err != nil {
		return "", fmt.Errorf("resessionize: read checkpoints: %w", err)
	}
	defer rows.Close()
	var n, ms string
	if rows.Next() {
		if err := rows.Scan(&n, &ms); err != nil {
			return "", fmt.Errorf("resessionize: read checkpoints: %w", err)
		}
	}
	return n + "/" + ms, rows.Err()
}

// checkOneTopic refuses a database whose events came from more than one
// topic (an import topic beside the live one): the events table does not
// record an event's topic, and the topics' partitions and offsets overlap,
// so their logs could not be told apart and replayed each on its own clock.
func checkOneTopic(ctx context.Context, db *store.DB, topic string) error {
	rows, err := db.Query(ctx, `SELECT DISTINCT consumer_group, topic FROM sessionizer_checkpoints WHERE topic != ? ORDER BY topic, consumer_group`, topic)
	if err != nil {
		return fmt.Errorf("resessionize: read checkpoints: %w", err)
	}
	defer rows.Close()
	var others []string
	for rows.Next() {
		var g, t string
		if err := rows.Scan(&g, &t); err != nil {
			return fmt.Errorf("resessionize: read checkpoints: %w", err)
		}
		others = append(others, fmt.Sprintf("topic %s (group %s)", t, g))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("resessionize: read checkpoints: %w", err)
	}
	if len(others) > 0 {
		return fmt.Errorf("resessionize: the events table also holds events sessionized from %s: it does not record an event's topic, so the logs of %s and those cannot be replayed apart; re-sessionizing a database with imported history is not supported yet (docs/resessionize.md)",
			strings.Join(others, ", "), topic)
	}
	return nil
}

func checkStopped(ctx context.Context, o Options) error {
	if o.Members == nil {
		return errors.New("resessionize: no way to check that the sessionizer group is stopped")
	}
	members, err := o.Members.Members(ctx)
	if err != nil {
		return fmt.Errorf("resessionize: check that sessionizer group %s is stopped: %w", o.Group, err)
	}
	if len(members) > 0 {
		return fmt.Errorf("resessionize: sessionizer group %s has %d live members (%s): stop every sessionizer first; the run replaces their checkpoints",
			o.Group, len(members), strings.Join(members, ", "))
	}
	return nil
}

func dropDatabase(ctx context.Context, db *store.DB, name string) error {
	if err := db.Exec(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)); err != nil {
		return fmt.Errorf("resessionize: drop database %s: %w", name, err)
	}
	return nil
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

func printSwitched(w io.Writer, liveDB, staging string, r session.Rules) {
	fmt.Fprintf(w, `
Switched: %s of database %s now hold the history under the new rules; the reports read them from now on.
The old tables are kept in database %s.

Start the sessionizers with the new rules (flags, or their TELLER_ variables), or they apply the old ones to new events:
  teller sessionizer %s
They resume from the new checkpoints, which hold the open sessions under the new rules.

Roll back (sessionizers stopped; then start them with the old rules: they resume from the old checkpoints
and re-read from Kafka what came since, while Kafka still holds it):
  teller resessionize -rollback -staging-database %s
Drop the old tables once the new figures are right:
  clickhouse-client --query 'DROP DATABASE %s'
`, strings.Join(Tables, ", "), liveDB, staging, strings.Join(sessionizer.RuleFlags(r), " "), staging, quoteIdent(staging))
}
