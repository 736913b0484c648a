package mapped

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// RSSFile returns the process's file-mapped resident memory in bytes
// (RssFile in /proc/self/status).
func RSSFile() (int64, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n << 10, err
		}
	}
	return 0, fmt.Errorf("no RssFile in /proc/self/status")
}

// releaseTables drops the process's resident pages of the mappings of the
// tables ids in dir, as /proc/self/maps lists them. The caller holds the
// tables open, so each listed range is still the table's mapping.
func releaseTables(dir string, ids map[uint64]bool) error {
	if dir == "" || len(ids) == 0 {
		return nil
	}
	// The kernel lists a mapping's file by its absolute path, symbolic
	// links resolved.
	dir, err := filepath.Abs(dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return err
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		start, end, ok := tableRange(sc.Text(), dir, ids)
		if !ok {
			continue
		}
		if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, start, end-start, syscall.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("madvise %x-%x: %w", start, end, e)
		}
	}
	return sc.Err()
}

// tableRange parses a line of /proc/self/maps ("start-end perms offset dev
// inode path") and returns its range when it maps, shared, the table file
// of one of ids in dir.
func tableRange(line, dir string, ids map[uint64]bool) (start, end uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) != 6 || len(f[1]) != 4 || f[1][3] != 's' {
		return 0, 0, false // no path, a deleted file ("(deleted)" is a 7th field), or private
	}
	path := f[5]
	name, found := strings.CutSuffix(filepath.Base(path), ".sst")
	if !found || filepath.Dir(path) != dir {
		return 0, 0, false
	}
	id, err := strconv.ParseUint(name, 10, 64)
	if err != nil || !ids[id] {
		return 0, 0, false
	}
	a, b, _ := strings.Cut(f[0], "-")
	s, err1 := strconv.ParseUint(a, 16, 64)
	e, err2 := strconv.ParseUint(b, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}
