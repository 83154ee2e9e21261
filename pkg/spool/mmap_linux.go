//go:build linux

package spool

import (
	"fmt"
	"os"
	"syscall"
)

// mapSegment reserves size bytes of disk for f (so writing the mapping can
// never fault on a full disk) and maps them shared: records copied into the
// mapping are in the page cache at once, as a write() would put them, with
// no system call per Append.
func mapSegment(f *os.File, size int64) ([]byte, error) {
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return nil, fmt.Errorf("spool: reserve %d bytes for a segment: %w", size, err)
	}
	m, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("spool: map a segment: %w", err)
	}
	return m, nil
}

func unmapSegment(m []byte) error { return syscall.Munmap(m) }

// releaseMapped drops the process's page table entries for m (whole pages,
// already written): the pages stay in the page cache, dirty ones are still
// written back, but they no longer count as the collector's resident memory.
func releaseMapped(m []byte) { _ = syscall.Madvise(m, syscall.MADV_DONTNEED) }
