// Package account owns who may use the dashboard and how they prove it:
// users with argon2id passwords, their per-site grants (viewer or admin of
// a site; admin users see every site), logins (a dashboard sign-in, kept on
// the server in ClickHouse), read-only API tokens, CSRF tokens, the
// dashboard's cookies, and the limits on sign-in attempts.
//
// In Teller "session" always means a visitor's browsing session (pkg/session);
// a person signed in to the dashboard has a login.
//
// # Logins
//
// The login cookie carries only a random 256-bit id; dashboard_logins keeps
// its SHA-256 with the user, the user's generation, sign-in time, absolute
// expiry, last use and a summary of the browser and address. A login ends
// when the user signs out or ends it from another browser, when it is idle
// for longer than the idle timeout or older than its lifetime, and when the
// user's password changes or the user is removed (both raise the user's
// generation). Every authenticated request reads the login's rows and the
// user's row, with no cache, so an end written by one dashboard instance is
// seen by every other on the next request; the cost is two small point
// queries per request. Last use is written at most once per TouchEvery per
// login. The tables are laid out for ClickHouse 18.16 and current releases
// alike (schema/0010_accounts.sql): rows are only appended, and an end, once
// written, wins whatever order rows merge in.
//
// # Limits
//
// Sign-in attempts are limited per client address and per user name, in
// this process: a slot is reserved before the password is checked, so that
// concurrent attempts cannot pass the limit. A browser that signed in as a
// user before (a signed known-device cookie) passes that user's limit, so
// strangers cannot lock a user out; the address limit applies to everyone.
// Unknown user names are counted and hashed like known ones, so neither the
// answer nor its timing tells which names exist.
//
// The package renders nothing (pkg/dashboard does) and reads no report data.
package account
