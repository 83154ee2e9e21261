package store

// MigrateOnly applies migs alone, as Migrate applies all: tests build an
// older install with it.
var MigrateOnly = migrate
