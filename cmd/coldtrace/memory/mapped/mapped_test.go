//go:build linux

package mapped

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"coldtrace/ledger/kv"
	"coldtrace/storage/badgerkv"
)

func key(i int) []byte { return fmt.Appendf(nil, "k%08d", i) }

// value is key i's value: 1 KiB that does not compress.
func value(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	v := make([]byte, 1024)
	for j := range v {
		v[j] = byte(r.Uint32())
	}
	return v
}

func put(t testing.TB, s *badgerkv.Store, from, to int) {
	t.Helper()
	for i := from; i < to; i += 500 {
		err := s.Update(context.Background(), func(tx kv.Tx) error {
			for j := i; j < min(i+500, to); j++ {
				if err := tx.Set(key(j), value(j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// readAll reads keys [0, n) and fails on a value that is not theirs.
func readAll(t testing.TB, s *badgerkv.Store, n int) {
	t.Helper()
	err := s.View(context.Background(), func(tx kv.Tx) error {
		for i := 0; i < n; i++ {
			if err := readBack(tx, i); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openStore opens a badger store in dir with small memtables, so that
// what was written sits in tables.
func openStore(t testing.TB, dir string) *badgerkv.Store {
	t.Helper()
	s, err := badgerkv.Open(dir, badgerkv.Options{Memory: badgerkv.Memory{MemTableSize: 8 << 20, BlockCacheSize: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rssFile(t testing.TB) int64 {
	t.Helper()
	n, err := RSSFile()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReleaseDropsTablePages writes 48 MiB into a badger directory,
// reopens it and reads every key: the file-mapped resident memory grows
// by the tables read. Check under a limit above it releases nothing;
// under a limit below it, RssFile drops by most of what the reads added,
// and every key reads back the same afterwards.
func TestReleaseDropsTablePages(t *testing.T) {
	const n = 48 << 10
	dir := t.TempDir()
	s := openStore(t, dir)
	put(t, s, 0, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()

	r0 := rssFile(t)
	readAll(t, s, n)
	r1 := rssFile(t)
	if r1-r0 < 24<<20 {
		t.Fatalf("reading %d KiB of tables added %d KiB of file-mapped memory, want at least 24 MiB", n, (r1-r0)>>10)
	}
	r := New(r1+64<<20, s)
	if got, err := r.Check(); err != nil || got != 0 {
		t.Fatalf("Check under the limit released %d bytes, %v", got, err)
	}
	if runs, _ := r.Stats(); runs != 0 {
		t.Fatalf("Check under the limit ran %d releases", runs)
	}
	r.Limit = r0
	got, err := r.Check()
	if err != nil {
		t.Fatal(err)
	}
	r2 := rssFile(t)
	t.Logf("RssFile: %d KiB opened, %d KiB after the reads, %d KiB after the release (%d KiB released)", r0>>10, r1>>10, r2>>10, got>>10)
	if r1-r2 < (r1-r0)*3/4 {
		t.Errorf("the release took RssFile from %d to %d KiB, want at least 3/4 of the %d KiB the reads added", r1>>10, r2>>10, (r1-r0)>>10)
	}
	if runs, released := r.Stats(); runs != 1 || released != got || got <= 0 {
		t.Errorf("Stats = %d runs, %d bytes; want 1 run of %d bytes", runs, released, got)
	}
	readAll(t, s, n)

	// Over the limit with nothing read since the last release: RssFile is
	// what cannot be released, and Check leaves it until it grows.
	r.Limit = 1
	if _, err := r.Release(); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Check(); err != nil || got != 0 {
		t.Errorf("Check right after a release released %d bytes, %v", got, err)
	}
	if runs, _ := r.Stats(); runs != 2 {
		t.Errorf("Check right after a release ran: %d releases, want 2", runs)
	}
}

// TestReleaseWhileReadingAndWriting releases the tables' pages again and
// again while readers check every value they read and a writer adds keys,
// so that badger flushes memtables and compacts tables (creating,
// replacing and unmapping them) during the releases.
func TestReleaseWhileReadingAndWriting(t *testing.T) {
	n := 16 << 10
	if testing.Short() {
		n = 4 << 10
	}
	s := openStore(t, t.TempDir())
	defer s.Close()
	put(t, s, 0, n)
	r := New(0, s)

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for !stop.Load() {
				err := s.View(context.Background(), func(tx kv.Tx) error {
					for k := 0; k < 200; k++ {
						if err := readBack(tx, rng.IntN(n)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		put(t, s, n, 3*n) // two more rounds of tables, flushed and compacted
		stop.Store(true)
	}()
	releases := 0
	for !stop.Load() {
		if _, err := r.Release(); err != nil {
			t.Fatal(err)
		}
		releases++
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if runs, _ := r.Stats(); runs != int64(releases) || releases == 0 {
		t.Errorf("%d releases ran, Stats counts %d", releases, runs)
	}
	t.Logf("%d releases while reading and writing %d keys", releases, 2*n)
	readAll(t, s, 3*n)
}

// TestTableRange reads /proc/self/maps lines: only shared mappings of
// the held tables in the database's directory are released.
func TestTableRange(t *testing.T) {
	ids := map[uint64]bool{12: true}
	for _, c := range []struct {
		line string
		ok   bool
	}{
		{"7f0000000000-7f0000100000 r--s 00000000 08:01 1234 /db/000012.sst", true},
		{"7f0000000000-7f0000100000 rw-s 00000000 08:01 1234 /db/000012.sst", true},
		{"7f0000000000-7f0000100000 r--p 00000000 08:01 1234 /db/000012.sst", false},
		{"7f0000000000-7f0000100000 r--s 00000000 08:01 1234 /db/000012.sst (deleted)", false},
		{"7f0000000000-7f0000100000 r--s 00000000 08:01 1234 /db/000013.sst", false},
		{"7f0000000000-7f0000100000 r--s 00000000 08:01 1234 /other/000012.sst", false},
		{"7f0000000000-7f0000100000 rw-s 00000000 08:01 1234 /db/00001.mem", false},
		{"7f0000000000-7f0000100000 rw-s 00000000 08:01 1234 /db/000012.vlog", false},
		{"7f0000000000-7f0000100000 rw-p 00000000 00:00 0", false},
	} {
		s, e, ok := tableRange(c.line, "/db", ids)
		if ok != c.ok || ok && (s != 0x7f0000000000 || e != 0x7f0000100000) {
			t.Errorf("%q: %x-%x %v, want ok %v", c.line, s, e, ok, c.ok)
		}
	}
}

// readBack checks that key i reads back its value.
func readBack(tx kv.Tx, i int) error {
	v, err := tx.Get(key(i))
	if err != nil {
		return fmt.Errorf("key %d: %w", i, err)
	}
	if !bytes.Equal(v, value(i)) {
		return fmt.Errorf("key %d reads back a different value", i)
	}
	return nil
}
