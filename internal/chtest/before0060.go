package chtest

import (
	"context"
	"fmt"

	"github.com/teller-analytics/teller/pkg/store"
)

// RestoreSessionsAgg makes migration 0003's sessions_agg and sessions_mv
// again in a migrated database, so that inserts into events fill them as
// they did before 0060 dropped them: for benchmarks and comparisons
// against that design. 0003's sessions view is skipped (the current one
// exists).
func RestoreSessionsAgg(ctx context.Context, q store.Querier) error {
	migs, err := store.Migrations()
	if err != nil {
		return err
	}
	for _, m := range migs {
		if m.Version != 3 {
			continue
		}
		for i, st := range m.Statements {
			if err := q.Exec(ctx, st); err != nil {
				return fmt.Errorf("chtest: migration %s, statement %d, again: %w", m.Name, i+1, err)
			}
		}
		return nil
	}
	return fmt.Errorf("chtest: no migration 0003")
}
