package collector

import (
	"net/http"
	"sync/atomic"
	"time"
)

// dateCache holds the Date header's value of the current second. net/http
// formats Date for every answer that has none; the collector sets it from
// this cache instead, formatted once a second (a time format per request
// less). The value is what net/http would write in that second.
type dateCache struct {
	current atomic.Pointer[dateValue]
}

type dateValue struct {
	unix  int64
	value []string // length and capacity 1, shared by every answer of the second
}

// header is the Date header's value for now (the wall clock).
func (d *dateCache) header(now time.Time) []string {
	unix := now.Unix()
	if v := d.current.Load(); v != nil && v.unix == unix {
		return v.value
	}
	v := &dateValue{unix: unix, value: []string{now.UTC().Format(http.TimeFormat)}}
	d.current.Store(v)
	return v.value
}
