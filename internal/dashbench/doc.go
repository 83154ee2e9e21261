// Package dashbench owns the dashboard benchmark: a data filler that writes
// months of realistic traffic the way production does (events on a Kafka
// topic, consumed by the real sessionizer into ClickHouse), and a load tool
// that signs in to a running dashboard over HTTP and times its pages and JSON
// reports at several concurrencies.
//
// It is development tooling: cmd/dashbench is its main and
// docs/dashboard-speed.md records what it measured. It uses the product's
// packages exactly as the services do (pkg/bus's producer as the collector
// publishes, pkg/app's sessionizer wiring, pkg/store's migrations), and
// talks to the dashboard only over HTTP, from another process, so that the
// figures are those a user would see. It never changes the product's tables
// except by running the sessionizer; the storage candidates it compares are
// SQL in the document, run with clickhouse-client.
package dashbench
