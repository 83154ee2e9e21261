//go:build !unix

package spool

import "os"

// lockDir does not lock elsewhere than on Unix systems.
func lockDir(string) (*os.File, error) { return nil, nil }
