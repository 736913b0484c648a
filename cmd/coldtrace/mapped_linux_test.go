package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestDropMappedKeepsTheFile maps a file shared, as badger maps its
// tables, reads it, takes its pages out of the process both ways
// dropMappedPages does and checks that the mapping still reads what the
// file holds, and that a mapping of a file outside the directories keeps
// its pages resident.
func TestDropMappedKeepsTheFile(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	want := bytes.Repeat([]byte("coldtrace table page "), 1<<16) // 1.3 MB
	mapFile := func(d string) []byte {
		path := filepath.Join(d, "000001.sst")
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Sync(); err != nil { // page-out frees clean pages only
			t.Fatal(err)
		}
		m, err := syscall.Mmap(int(f.Fd()), 0, len(want), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Munmap(m) })
		return m
	}
	m, kept := mapFile(dir), mapFile(other)
	path, keptPath := filepath.Join(dir, "000001.sst"), filepath.Join(other, "000001.sst")
	prefix := []byte(dir + string(filepath.Separator))
	for _, advice := range []int{syscall.MADV_DONTNEED, madvPageout} {
		if !bytes.Equal(m, want) || !bytes.Equal(kept, want) {
			t.Fatal("the mapping does not read the file")
		}
		dropMapped([][]byte{prefix}, advice)
		if got := resident(t, path); got != 0 {
			t.Errorf("advice %d: %d kB of the file under the directory still resident", advice, got)
		}
		if got := resident(t, keptPath); got == 0 {
			t.Errorf("advice %d: the file outside the directory lost its pages", advice)
		}
		if !bytes.Equal(m, want) {
			t.Fatalf("advice %d: the mapping reads other bytes than the file's", advice)
		}
	}
}

// resident returns the kB of the mapping of path that the process has
// resident, as /proc/self/smaps says.
func resident(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = strings.HasSuffix(line, path)
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("%s is not mapped", path)
	return 0
}
