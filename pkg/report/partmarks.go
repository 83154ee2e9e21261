package report

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/teller-analytics/teller/pkg/store"
)

// A mark (markOf) is a count and a hash sum over every row a kept figure
// came from, so reading it scanned those rows' columns on every view: on a
// 30-day page its four marks were most of the server's work once the
// figures themselves were kept. Yet a MergeTree part never changes: an
// insert adds a part, a merge or a mutation replaces parts by a new one
// under a new name. Both the count and the hash sum add up over parts, so
// with PartMarks a mark is the sum of each active part's own mark, and a
// part's mark is read once (its rows selected with _part) and kept while
// the part is active. A view then lists the table's active parts
// (system.parts) and reads only the parts it has not seen, usually none,
// or the few new ones an insert or a merge made. The sum equals the mark a
// scan of the whole table would read at the moment of the listing, so
// everything closed.go and previous.go say of marks holds unchanged.
//
// A part is known by its name, rows, bytes on disk and modification time:
// names repeat only once a table is emptied and its server restarted (the
// block numbers start again), and a new part under an old name with the
// same size to the byte, written in the same second, is what would be
// mistaken. A part listed but merged away before its rows were read gives
// no rows, which is also what a part without rows in the range gives: its
// mark is taken as empty only when a second listing shows it still active;
// otherwise the mark is read by a scan of the whole table, as without
// PartMarks, and so it is when system.parts cannot be read.

// DefaultPartMarkStatements bounds a PartMarks made with NewPartMarks(0): a
// statement keeps one small entry per active part of its table.
const DefaultPartMarkStatements = 4096

// PartMarks keeps the marks of tables' parts per mark statement, the least
// recently used statement dropped first. It is safe for concurrent use.
type PartMarks struct {
	kept   *marked[map[string]partMark]
	read   atomic.Uint64 // parts whose mark was read
	reused atomic.Uint64 // parts whose kept mark was used
	scans  atomic.Uint64 // marks read by a scan instead
}

// part is what tells a table's parts apart (see above).
type part struct {
	name                  string
	rows, bytes, modified uint64
}

type partMark struct {
	part part
	mark previousMark
}

// NewPartMarks keeps the part marks of at most statements mark statements
// (DefaultPartMarkStatements when statements <= 0).
func NewPartMarks(statements int) *PartMarks {
	if statements <= 0 {
		statements = DefaultPartMarkStatements
	}
	n := int64(statements)
	return &PartMarks{kept: newMarked(n, n, func(string, map[string]partMark) int64 { return 1 })}
}

// Stats is how many parts' marks were read and how many were used as kept,
// and how many marks were read by a scan of the whole table instead.
func (c *PartMarks) Stats() (read, reused, scans uint64) {
	return c.read.Load(), c.reused.Load(), c.scans.Load()
}

// WithPartMarks makes r read the marks of PreviousCache and ClosedCache
// part by part, keeping each part's in c (nil: a scan per mark).
func (r *Reports) WithPartMarks(c *PartMarks) *Reports {
	r.parts = c
	return r
}

// markStmt is a mark's statement in its pieces: a count and the sum of
// hash over the rows of table that match where.
type markStmt struct {
	table, hash, where string
	args               []any
}

func (m markStmt) scan() string {
	return "SELECT count(), sum(" + m.hash + ")\nFROM " + m.table + "\nWHERE " + m.where
}

// activeParts lists table's active parts, by name.
func (r *Reports) activeParts(ctx context.Context, table string) (map[string]part, error) {
	out := map[string]part{}
	err := r.each(ctx, `SELECT name, rows, bytes_on_disk, toUInt64(modification_time)
FROM system.parts
WHERE database = currentDatabase() AND table = ? AND active`, []any{table}, func(rows store.Rows) error {
		var p part
		if err := rows.Scan(&p.name, &p.rows, &p.bytes, &p.modified); err != nil {
			return err
		}
		out[p.name] = p
		return nil
	})
	return out, err
}

// partsMark returns m's mark as the sum of its table's parts' marks, and
// false when it must be read by a scan (see above).
func (r *Reports) partsMark(ctx context.Context, m markStmt) (previousMark, bool) {
	parts, err := r.activeParts(ctx, m.table)
	if err != nil {
		return previousMark{}, false
	}
	key := Inline(m.scan(), m.args...)
	kept, _ := r.parts.kept.get(key, previousMark{})
	now := make(map[string]partMark, len(parts))
	var missing []string
	for name, p := range parts {
		if k, ok := kept[name]; ok && k.part == p {
			now[name] = k
			continue
		}
		missing = append(missing, name)
	}
	r.parts.reused.Add(uint64(len(now)))
	if len(missing) > 0 {
		args := append(append([]any(nil), m.args...), stringsAsAny(missing)...)
		read := map[string]previousMark{}
		err := r.each(ctx, "SELECT _part, count(), sum("+m.hash+")\nFROM "+m.table+"\nWHERE "+m.where+
			"\n  AND _part IN ("+listOf("?", len(missing))+")\nGROUP BY _part",
			args, func(rows store.Rows) error {
				var name string
				var pm previousMark
				if err := rows.Scan(&name, &pm.rows, &pm.hash); err != nil {
					return err
				}
				read[name] = pm
				return nil
			})
		if err != nil {
			return previousMark{}, false
		}
		var still map[string]part
		for _, name := range missing {
			pm, ok := read[name]
			if !ok {
				// No rows: none in the range, or merged away meanwhile.
				if still == nil {
					if still, err = r.activeParts(ctx, m.table); err != nil {
						return previousMark{}, false
					}
				}
				if _, active := still[name]; !active {
					return previousMark{}, false
				}
			}
			now[name] = partMark{parts[name], pm}
		}
		r.parts.read.Add(uint64(len(missing)))
	}
	var sum previousMark
	for _, pm := range now {
		sum.rows += pm.mark.rows
		sum.hash += pm.mark.hash
	}
	r.parts.kept.put(key, previousMark{}, now)
	return sum, true
}

func stringsAsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// readMark reads m's mark for part p of a range: from its parts' marks
// with PartMarks, else by a scan.
func (r *Reports) readMark(ctx context.Context, p Query, m markStmt) (previousMark, error) {
	if r.parts != nil {
		if mark, ok := r.partsMark(ctx, m); ok {
			return mark, nil
		}
		r.parts.scans.Add(1)
	}
	var mark previousMark
	err := r.each(ctx, m.scan(), m.args, func(rows store.Rows) error { return rows.Scan(&mark.rows, &mark.hash) })
	if err != nil {
		return mark, fmt.Errorf("report: mark of the sessions of %s before %s: %w", p.Site, p.To.UTC().Format("2006-01-02T15:04:05Z"), err)
	}
	return mark, nil
}
