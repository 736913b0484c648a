//go:build !linux

package mapped

import "errors"

// RSSFile is known only on Linux.
func RSSFile() (int64, error) { return 0, errors.New("no /proc: file-mapped memory unknown") }

// releaseTables does nothing where there is no /proc/self/maps.
func releaseTables(string, map[uint64]bool) error { return nil }
