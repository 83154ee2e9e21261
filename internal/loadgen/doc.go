// Package loadgen owns Teller's load generator: simulated browsers that send
// the collector exactly what the tracking snippet sends (POST /api/event, a
// text/plain JSON body, the page's Origin, each browser's own visitor
// cookie, an engagement event for every page left, single-page-app
// navigations' two events in one request as the snippet's route() makes them),
// at a bounded request rate, over a lean HTTP/1.1 client with one
// keep-alive connection per worker (httpclient.go: the tool must cost far
// less CPU than the pipeline it measures), and a report of what happened: status counts,
// latency percentiles, errors by message, and the ground truth of what was
// accepted (visitors, visits, pageviews, custom and engagement events).
//
// With a ClickHouse address it then checks that ground truth against the
// events table: the sessionizer must have written exactly the events the
// collector accepted, for exactly the visitors whose cookies were kept.
//
// It is a client only: it never starts, configures or registers anything in
// the pipeline it measures (register the site first with `teller site add`),
// and it reads ClickHouse without writing to it. cmd/loadgen is its main.
package loadgen
