package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// dropMappedPages takes out of this process's RSS, every interval until
// stop is called, the pages of the files under dirs that it maps shared:
// badger's tables and logs, which it reads through mmap. A scan of a whole
// store maps every page of its tables once; without this they stay in the
// process's RSS (as file pages, which the kernel takes back only under
// memory pressure) and the RSS of verify grows with the ledger.
//
// When stable, the files stay mapped until stop (a read-only badger, which
// neither compacts nor closes a table before Close), and the pages are
// unmapped (MADV_DONTNEED): the kernel keeps them in its page cache, and a
// later read maps them again, so badger reads what the files hold. Else a
// table may be unmapped, and its addresses mapped again for something
// else, between the read of /proc/self/maps and the advice; so the pages
// are paged out (MADV_PAGEOUT: clean file pages are freed; dirty ones stay
// until the kernel has written them back, about 30 s after the write;
// anonymous ones are swapped or left), which loses nothing whatever the
// range holds by then, at the price of the page cache.
func dropMappedPages(interval time.Duration, stable bool, dirs ...string) (stop func()) {
	advice := madvPageout
	if stable {
		advice = syscall.MADV_DONTNEED
	}
	var prefixes [][]byte
	for _, d := range dirs {
		if abs, err := filepath.Abs(d); err == nil {
			prefixes = append(prefixes, []byte(abs+string(filepath.Separator)))
		}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				dropMapped(prefixes, advice)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// madvPageout is Linux's MADV_PAGEOUT (5.4 and later; older kernels
// refuse it, and the pages stay).
const madvPageout = 21

// dropMapped gives advice on every shared mapping of a file whose path
// starts with one of prefixes, as /proc/self/maps lists them.
func dropMapped(prefixes [][]byte, advice int) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path: only the path has a slash
		line := sc.Bytes()
		fields := bytes.Fields(line)
		slash := bytes.IndexByte(line, '/')
		if len(fields) < 6 || len(fields[1]) < 4 || fields[1][3] != 's' || slash < 0 || !hasAnyPrefix(line[slash:], prefixes) {
			continue
		}
		start, end, ok := bytes.Cut(fields[0], []byte("-"))
		if !ok {
			continue
		}
		lo, err1 := strconv.ParseUint(string(start), 16, 64)
		hi, err2 := strconv.ParseUint(string(end), 16, 64)
		if err1 != nil || err2 != nil || hi <= lo {
			continue
		}
		syscall.Syscall(syscall.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), uintptr(advice))
	}
}

func hasAnyPrefix(path []byte, prefixes [][]byte) bool {
	for _, p := range prefixes {
		if bytes.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
