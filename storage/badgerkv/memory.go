package badgerkv

import "github.com/dgraph-io/badger/v4"

// Memory bounds badger's memory (cmd/coldtrace/memory splits a budget into
// these); a zero field keeps badger's default.
type Memory struct {
	// MemTableSize is one memtable's size (default 64 MiB); NumMemtables
	// memtables are kept (default 5), each with a write-ahead log of
	// about its size mapped from a file. Badger refuses a transaction over
	// 15% of a memtable.
	MemTableSize int64
	NumMemtables int
	// NumLevelZeroTables is how many level-0 tables wait before they are
	// compacted into level 1 (default 5).
	NumLevelZeroTables int
	// BlockCacheSize bounds the cache of decompressed blocks (default
	// 256 MiB); IndexCacheSize the cache of table indexes, which badger
	// uses only for encrypted tables (default 0).
	BlockCacheSize int64
	IndexCacheSize int64
}

// apply sets m's non-zero fields on bo.
func (m Memory) apply(bo badger.Options) badger.Options {
	if m.MemTableSize > 0 {
		bo = bo.WithMemTableSize(m.MemTableSize)
	}
	if m.NumMemtables > 0 {
		bo = bo.WithNumMemtables(m.NumMemtables)
	}
	if m.NumLevelZeroTables > 0 {
		bo = bo.WithNumLevelZeroTables(m.NumLevelZeroTables)
	}
	if m.BlockCacheSize > 0 {
		bo = bo.WithBlockCacheSize(m.BlockCacheSize)
	}
	if m.IndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(m.IndexCacheSize)
	}
	return bo
}

// MemoryUse is what badger tells of its memory: the configured sizes and
// what its caches and level-0 tables hold now, in bytes.
type MemoryUse struct {
	Config Memory
	// BlockCache and IndexCache are the costs the caches hold,
	// BlockCacheMax the block cache's capacity as badger's cache has it.
	BlockCache, IndexCache int64
	BlockCacheMax          int64
	// Level0 is the size of the level-0 tables waiting for compaction,
	// Level0Tables their count.
	Level0       int64
	Level0Tables int
	// LSM and ValueLog are the sizes of the tables and of the value log
	// on disk, as badger last measured them (once a minute).
	LSM, ValueLog int64
}

// MemoryUse reports badger's memory settings and use.
func (s *Store) MemoryUse() MemoryUse {
	o := s.db.Opts()
	u := MemoryUse{Config: Memory{MemTableSize: o.MemTableSize, NumMemtables: o.NumMemtables,
		NumLevelZeroTables: o.NumLevelZeroTables, BlockCacheSize: o.BlockCacheSize, IndexCacheSize: o.IndexCacheSize}}
	if m := s.db.BlockCacheMetrics(); m != nil {
		u.BlockCache = int64(m.CostAdded() - m.CostEvicted())
	}
	u.BlockCacheMax, _ = s.db.CacheMaxCost(badger.BlockCache, -1)
	if m := s.db.IndexCacheMetrics(); m != nil {
		u.IndexCache = int64(m.CostAdded() - m.CostEvicted())
	}
	if levels := s.db.Levels(); len(levels) > 0 {
		u.Level0, u.Level0Tables = levels[0].Size, levels[0].NumTables
	}
	u.LSM, u.ValueLog = s.db.Size()
	return u
}
