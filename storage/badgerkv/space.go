package badgerkv

import (
	"fmt"
	"syscall"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
)

// FreeBytes returns the bytes available to an unprivileged writer on the
// file system of path.
func FreeBytes(path string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// SpaceError returns an Unavailable error wrapping ledger.ErrRefused when
// the disk has less free space than the reserve, and nil otherwise (or when
// the free space cannot be read: the write then fails or not on its own).
// The ledger's writes stop while it is set and resume by themselves once
// space returns; /readyz reports it.
func (s *Store) SpaceError() error {
	if s.minFree <= 0 {
		return nil
	}
	free, err := s.free()
	if err != nil || free >= s.minFree {
		return nil
	}
	return fault.Wrap(fault.Unavailable,
		fmt.Sprintf("the disk is nearly full (%d MiB free, writes stop below %d MiB); writing resumes when space is freed", free>>20, s.minFree>>20),
		ledger.ErrRefused)
}
