-- The Kafka record timestamp of every event (issue 9): the log's own time,
-- which the sessionizer's record of closed sessions' event ids keeps
-- (pkg/session RememberFor: a redelivery is a matter of when a message was
-- sent again) and which the clock protection compares event times with.
-- Stored so that `teller resessionize`, which replays the events table,
-- hands the rules exactly the input the live sessionizer had. 0: written
-- before this column existed, or a record without a timestamp; the rules
-- then fall back to the partition clock, as they do for such a record.
--
-- ADD COLUMN IF NOT EXISTS is made idempotent on 18.16 by pkg/store's
-- migration runner; COMMENT COLUMN follows (18.16 ignores one inside ADD).
ALTER TABLE events ADD COLUMN IF NOT EXISTS kafka_ts_ms UInt64;
ALTER TABLE events COMMENT COLUMN kafka_ts_ms 'Timestamp of the Kafka record that carried the event, Unix ms (0: unknown)';
