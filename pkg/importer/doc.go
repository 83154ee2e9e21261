// Package importer owns history import: the wire format of POST /api/import
// (a batch of events with explicit timestamps, [Batch]), the per-site import
// tokens that authorise it ([Tokens], table import_tokens), the readers of
// the formats people have history in (the combined access-log format of
// nginx and Apache, [ReadCombined]; Umami's CSV export of website_event,
// [ReadUmami]) and the client that sends batches to a collector ([Client]).
//
// # Why imports have their own topic
//
// Each Kafka partition is sessionized on its own clock, the largest event
// time seen on it. A week of history published to the live topic would be
// far behind that clock (every imported event late), or, interleaved with
// live traffic, would drag the clock around. So the collector publishes
// imported events to a topic of their own (teller.import by default), and a
// second sessionizer consumer group reads it with the same code
// (-kafka-topic teller.import -kafka-group teller-import): the two clocks
// never meet, so live sessions are decided exactly as without an import.
// Imported visitors get their own ids (a UUIDv5 of site and the source's
// visitor key), so an imported session never shares a visitor with a live one.
//
// Within the import topic, send history in time order (the readers keep the
// file's order, which for logs is time order; the collector sorts each
// batch): an event more than the sessionizer's allowed disorder behind its
// partition's clock is flagged late, as on the live topic. Event ids are
// deterministic (a UUIDv5 of the source's content), so importing the same
// file twice, or retrying a batch, counts every event once.
//
// The package does not publish, sessionize or store events: the collector
// (pkg/collector, importapi.go) checks and publishes them.
package importer
