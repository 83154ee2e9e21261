package dashboard

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/teller-analytics/teller/pkg/report"
)

// httpError is an error with the status and message the client sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &httpError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...)}
}

// fail answers err: its own status and message for an httpError, 400 for a
// report query the caller got wrong, else 500 with a generic message (the
// error itself is logged, never shown).
func (d *Dashboard) fail(c *gin.Context, api bool, err error) {
	status, msg := http.StatusInternalServerError, "Something went wrong on our side; the error was logged."
	var he *httpError
	switch {
	case errors.As(err, &he):
		status, msg = he.status, he.msg
	case errors.Is(err, report.ErrInvalidQuery):
		status, msg = http.StatusBadRequest, err.Error()
	default:
		d.log.Error("dashboard: request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "err", err)
		_ = c.Error(err)
	}
	if api {
		c.AbortWithStatusJSON(status, gin.H{"error": msg})
		return
	}
	d.errorPage(c, status, msg)
	c.Abort()
}
