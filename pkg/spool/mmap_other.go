//go:build !linux

package spool

import (
	"errors"
	"os"
)

// Elsewhere than Linux the spool writes each Append with write().
func mapSegment(*os.File, int64) ([]byte, error) { return nil, errors.ErrUnsupported }
func unmapSegment([]byte) error                  { return nil }
func releaseMapped([]byte)                       {}
