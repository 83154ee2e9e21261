package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/teller-analytics/teller/pkg/event"
)

// Filter narrows a report to the sessions whose Dimension matches Value
// under Op. Filters of a Query are ANDed.
//
// A session dimension (entry_page, source, channel, browser, ...) matches on
// the session's entry attribution (exit_page on its exit page). page keeps
// the sessions with (is, contains) or without (is_not, not_contains) a
// pageview whose path matches; event does the same with custom event names.
// In the page and event breakdowns those filters also select the rows.
type Filter struct {
	Dimension Dimension
	Op        Op
	Value     string
}

// Op is how a Filter compares.
type Op string

// The filter operators, by their URL names. contains and not_contains are
// case-insensitive substring matches; is and is_not compare exactly.
const (
	Is          Op = "is"
	IsNot       Op = "is_not"
	Contains    Op = "contains"
	NotContains Op = "not_contains"
)

// Ops lists the operators.
func Ops() []Op { return []Op{Is, IsNot, Contains, NotContains} }

// Bounds on what a request can filter by: anything a stranger can send is
// bounded.
const (
	// MaxFilters is the most filters one query takes.
	MaxFilters = 10
	// MaxFilterValue is the longest value, in bytes.
	MaxFilterValue = 500
)

// ParseFilter reads "dimension:op:value" (the value already URL-unescaped;
// the first two colons split, so a value may hold colons).
func ParseFilter(s string) (Filter, error) {
	dim, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Filter{}, fmt.Errorf("%w: filter %q: want dimension:op:value", ErrInvalidQuery, clip(s))
	}
	op, value, ok := strings.Cut(rest, ":")
	if !ok {
		return Filter{}, fmt.Errorf("%w: filter %q: want dimension:op:value", ErrInvalidQuery, clip(s))
	}
	d, err := ParseDimension(dim)
	if err != nil {
		return Filter{}, fmt.Errorf("filter: %w", err)
	}
	f := Filter{Dimension: d, Op: Op(op), Value: value}
	if err := f.Validate(); err != nil {
		return Filter{}, err
	}
	return f, nil
}

// ParseFilters reads every f= value of a request.
func ParseFilters(values []string) ([]Filter, error) {
	if len(values) > MaxFilters {
		return nil, fmt.Errorf("%w: %d filters, at most %d", ErrInvalidQuery, len(values), MaxFilters)
	}
	out := make([]Filter, 0, len(values))
	for _, v := range values {
		f, err := ParseFilter(v)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// String is the filter as the URL carries it: dimension:op:value.
func (f Filter) String() string { return string(f.Dimension) + ":" + string(f.Op) + ":" + f.Value }

// Validate checks the dimension (by its current name), the operator and
// the value.
func (f Filter) Validate() error {
	d := f.Dimension
	if _, ok := dimensions[d]; !ok {
		return fmt.Errorf("%w: filter: unknown dimension %q (want one of %v)", ErrInvalidQuery, clip(string(d)), Dimensions())
	}
	switch f.Op {
	case Is, IsNot, Contains, NotContains:
	default:
		return fmt.Errorf("%w: filter %s: unknown operator %q (want one of %v)", ErrInvalidQuery, d, clip(string(f.Op)), Ops())
	}
	if len(f.Value) > MaxFilterValue {
		return fmt.Errorf("%w: filter %s: value of %d bytes, at most %d", ErrInvalidQuery, d, len(f.Value), MaxFilterValue)
	}
	if !utf8.ValidString(f.Value) || strings.IndexByte(f.Value, 0) >= 0 {
		return fmt.Errorf("%w: filter %s: value is not valid text", ErrInvalidQuery, d)
	}
	if (f.Op == Contains || f.Op == NotContains) && f.Value == "" {
		return fmt.Errorf("%w: filter %s: %s needs a value", ErrInvalidQuery, d, f.Op)
	}
	return nil
}

// negated says whether the filter keeps what does not match.
func (f Filter) negated() bool { return f.Op == IsNot || f.Op == NotContains }

// match is the SQL condition "expr matches the value" for the positive form
// of the operator (is for is_not, contains for not_contains), and its
// argument.
func (f Filter) match(expr string) (string, any) {
	if f.Op == Contains || f.Op == NotContains {
		return "positionCaseInsensitiveUTF8(" + expr + ", ?) > 0", f.Value
	}
	return expr + " = ?", f.Value
}

// cond is the SQL condition "expr passes the filter", operator included.
func (f Filter) cond(expr string) (string, any) {
	m, arg := f.match(expr)
	if f.negated() {
		return "NOT (" + m + ")", arg
	}
	return m, arg
}

// clip shortens what a stranger sent before it goes into an error message.
func clip(s string) string {
	const max = 80
	if c := event.Clip(s, max); c != s {
		return c + "..."
	}
	return s
}
