package badgerkv_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

// TestMemoryReachesBadger opens a database on disk with small memtables and
// a small block cache and checks that badger has them: its options read
// back, its block cache's capacity, a memtable flushed to a level-0 table
// after 24 MiB of writes (badger's default memtable holds 64 MiB), and a
// block cache that fills on reads but not past its capacity.
func TestMemoryReachesBadger(t *testing.T) {
	mem := badgerkv.Memory{MemTableSize: 16 << 20, NumMemtables: 3, NumLevelZeroTables: 3, BlockCacheSize: 8 << 20}
	s, err := badgerkv.Open(t.TempDir(), badgerkv.Options{Memory: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := s.MemoryUse()
	if u.Config != mem {
		t.Fatalf("badger has %+v, want %+v", u.Config, mem)
	}
	if u.BlockCacheMax != mem.BlockCacheSize {
		t.Fatalf("block cache capacity %d, want %d", u.BlockCacheMax, mem.BlockCacheSize)
	}
	if u.Level0Tables != 0 || u.BlockCache != 0 {
		t.Fatalf("a new database has %d level-0 tables and %d bytes cached", u.Level0Tables, u.BlockCache)
	}

	ctx := context.Background()
	val := make([]byte, 1024)
	for i := range 24 { // 24 transactions of 1 MiB (badger takes at most 2.4 MiB at once here)
		err := s.Update(ctx, func(tx ledger.Tx) error {
			for j := range 1024 {
				rand.Read(val)
				if err := tx.Set(fmt.Appendf(nil, "k%02d%04d", i, j), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); s.MemoryUse().Level0Tables == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no memtable was flushed after 24 MiB of writes with 16 MiB memtables: %+v", s.MemoryUse())
		}
	}
	for range 3 {
		err := s.View(ctx, func(tx ledger.Tx) error {
			return tx.Scan([]byte("k"), nil, false, func(k, v []byte) error { return nil })
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	u = s.MemoryUse()
	if u.BlockCache <= 0 || u.BlockCache > mem.BlockCacheSize {
		t.Errorf("block cache holds %d bytes after reading the tables, want 1 to %d", u.BlockCache, mem.BlockCacheSize)
	}
	if u.Level0 <= 0 {
		t.Errorf("level 0 holds %d bytes", u.Level0)
	}
}
