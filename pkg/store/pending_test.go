package store_test

import (
	"context"
	"testing"

	"github.com/teller-analytics/teller/internal/testenv"
	"github.com/teller-analytics/teller/pkg/store"
)

// Pending lists what Migrate would apply: everything on an empty database
// (skipping files gated on a newer server), nothing after Migrate.
func TestPendingMatchesWhatMigrateApplies(t *testing.T) {
	ctx := context.Background()
	srv := testenv.ClickHouse(t)
	db, err := store.Open(ctx, testenv.StoreConfig(srv, "pending"), testenv.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range migs {
		if m.RunsOn(db.ServerVersion()) {
			want = append(want, m.Name)
		}
	}
	pending, err := db.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range pending {
		got = append(got, m.Name)
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("pending on an empty database: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("pending on an empty database: %v, want %v", got, want)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if pending, err := db.Pending(ctx); err != nil || len(pending) != 0 {
		t.Fatalf("pending after Migrate: %v, %v", pending, err)
	}
	if applied := testenv.ClientQuery(t, srv, "pending", "SELECT count() FROM schema_migrations"); applied != itoa(len(want)) {
		t.Fatalf("Migrate applied %s migrations, Pending listed %d", applied, len(want))
	}
}

func TestRunsOnHonoursRequiresServer(t *testing.T) {
	gated := store.Migration{MinMajor: 23, MinMinor: 9}
	for _, tt := range []struct {
		v    store.Version
		want bool
	}{{store.Version{Major: 18, Minor: 16}, false}, {store.Version{Major: 23, Minor: 8}, false},
		{store.Version{Major: 23, Minor: 9}, true}, {store.Version{Major: 25, Minor: 8}, true}} {
		if got := gated.RunsOn(tt.v); got != tt.want {
			t.Errorf("requires 23.9, server %s: RunsOn = %v", tt.v, got)
		}
	}
	if !(store.Migration{}).RunsOn(store.Version{Major: 18, Minor: 16}) {
		t.Error("an ungated migration does not run on 18.16")
	}
}
