package badgerkv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"coldtrace/ledger"
)

// liveLogs returns the numbers of badger's write-ahead logs in dir.
func liveLogs(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".mem"); ok {
			n, err := strconv.Atoi(name)
			if err != nil {
				t.Fatal(err)
			}
			ns = append(ns, n)
		}
	}
	return ns
}

// TestWALSyncerFollowsLogs writes through several memtables of 8 MiB,
// in transactions of every size up to the largest badger takes, and checks
// after every Sync that the syncer holds open every write-ahead log in the
// directory (the logs it synced) and none that badger deleted; then the
// same after PurgeKey (DropPrefix makes a memtable of its own), and that
// a value badger puts in its value log makes the next Sync badger's own
// as well.
func TestWALSyncerFollowsLogs(t *testing.T) {
	if !ownWALSync {
		t.Skip("badger's own Sync on this system")
	}
	dir := t.TempDir()
	s, err := Open(dir, Options{Memory: Memory{MemTableSize: 8 << 20, NumMemtables: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string) {
		t.Helper()
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		want := liveLogs(t, dir)
		s.wal.mu.Lock()
		var got []int
		for n := range s.wal.files {
			got = append(got, n)
		}
		fresh := s.wal.fresh
		s.wal.mu.Unlock()
		if fresh {
			t.Fatalf("%s: a log opened before this Sync and the directory not synced", when)
		}
		slices.Sort(got)
		// a log badger deletes during a Sync is closed at the next
		if len(got) > len(want)+2 {
			t.Fatalf("%s: the syncer holds logs %v, the directory has %v", when, got, want)
		}
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Fatalf("%s: log %d is in the directory and not synced (syncer: %v)", when, n, got)
			}
		}
	}
	ctx := context.Background()
	val := bytes.Repeat([]byte("v"), 1000)
	k := 0
	first := liveLogs(t, dir)
	for i := range 300 {
		n := 1 + i%60*10 // 1 to 591 writes of about 1.1 KB of memtable each
		if err := s.Update(ctx, func(tx ledger.Tx) error {
			for range n {
				k++
				if err := tx.Set(fmt.Appendf(nil, "k/%08d", k), val); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 { // several commits to a Sync, as the ledger's groups
			check(fmt.Sprintf("commit %d", i))
		}
	}
	if last := liveLogs(t, dir); last[len(last)-1] < first[len(first)-1]+5 {
		t.Fatalf("the writes made logs %v after %v: too few to test", last, first)
	}
	if err := s.PurgeKey([]byte("k/00000001")); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.Set([]byte("after"), val) }); err != nil {
		t.Fatal(err)
	}
	check("after PurgeKey")

	badgerSyncs := 0
	big := bytes.Repeat([]byte("b"), int(s.db.Opts().ValueThreshold))
	if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.Set([]byte("big"), big[:len(big)-1]) }); err != nil {
		t.Fatal(err)
	}
	if err := s.wal.sync(func() error { badgerSyncs++; return nil }); err != nil || badgerSyncs != 0 {
		t.Fatalf("a value under the threshold: %v, badger's Sync called %d times", err, badgerSyncs)
	}
	if err := s.Update(ctx, func(tx ledger.Tx) error { return tx.Set([]byte("big"), big) }); err != nil {
		t.Fatal(err)
	}
	if err := s.wal.sync(func() error { badgerSyncs++; return nil }); err != nil || badgerSyncs != 1 {
		t.Fatalf("a value at the threshold: %v, badger's Sync called %d times", err, badgerSyncs)
	}
}

// TestWALSyncerNeedsLogs: a directory without badger's write-ahead logs
// (their naming changed) is an error, not a Sync that syncs nothing.
func TestWALSyncerNeedsLogs(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "000001.vlog"), nil, 0o644)
	if _, err := newWALSyncer(dir, 1<<20, 1<<20); err == nil {
		t.Fatal("no error without a log")
	}
}
