package report

// WithFinalStreams is q read in n FINAL streams instead of finalStreams,
// for the tests that compare the split read with the single one.
func WithFinalStreams(q Query, n int) Query {
	q.streams = n
	return q
}
