// Package memory splits coldtrace's memory budget (coldtrace serve
// --memory) into the parts that take memory: badger's memtables, their
// write-ahead logs and the level-0 tables waiting for compaction, badger's
// block and index caches, the ledger's decoded-lot caches, and the rest of
// the Go heap. It only does the arithmetic; cmd/coldtrace hands each part
// to its owner (storage/badgerkv, ledger, debug.SetMemoryLimit).
package memory

import (
	"fmt"
	"strconv"
	"strings"
)

// Units of Size.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

// Size is a number of bytes that reads and prints as 512MiB, 1GiB, 1.5GiB
// or a plain count of bytes.
type Size int64

// ParseSize reads a size: a number with an optional unit B, KiB, MiB, GiB
// (or K, M, G, KB, MB, GB, all meaning powers of 1024), case-insensitive.
func ParseSize(s string) (Size, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	num := strings.TrimRight(t, "abcdefghijklmnopqrstuvwxyz")
	unit := strings.TrimSpace(t[len(num):])
	mult, ok := map[string]Size{"": 1, "b": 1,
		"k": KiB, "kb": KiB, "kib": KiB,
		"m": MiB, "mb": MiB, "mib": MiB,
		"g": GiB, "gb": GiB, "gib": GiB}[unit]
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || f < 0 || f*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (like 512MiB or 1GiB)", s)
	}
	return Size(f * float64(mult)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (kong flags).
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// String prints the size in the largest unit that divides it to a tenth.
func (s Size) String() string {
	for _, u := range []struct {
		n    Size
		name string
	}{{GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if s >= u.n {
			return strconv.FormatFloat(float64(s)/float64(u.n), 'f', -1, 64) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// Min is the smallest budget Split takes: below it the memtables would
// be under 16 MiB, and badger refuses a transaction over 15% of one, which
// a group commit of --max-batch domain events can reach.
const Min = 256 * MiB

// NumMemtables is how many memtables badger keeps: the one being written
// and two being flushed (badger's default is 5).
const NumMemtables = 3

// Level0Tables is how many level-0 tables badger lets wait before it
// compacts them into level 1 (badger's default is 5).
const Level0Tables = 3

// A Budget is the split of a total memory budget. Every part is in bytes;
// the parts add up to Total.
type Budget struct {
	Total Size

	// MemTableSize is the size of one badger memtable; NumMemtables of
	// them are kept. Memtables is their skiplist arenas in the Go heap,
	// WAL their write-ahead logs, mapped from files (dirty pages until a
	// memtable is flushed and its log deleted), as big as the memtable.
	MemTableSize int64
	Memtables    int64
	WAL          int64
	// Level0 is the level-0 tables waiting for compaction, mapped from
	// their files: Level0Tables of at most MemTableSize each; with WAL, the
	// file-mapped part (Mapped), which also holds the resident pages of the
	// other tables that reads touched.
	Level0 int64
	// BlockCache is badger's cache of decompressed table blocks.
	BlockCache int64
	// IndexCache is badger's cache of table indexes. Badger uses it only
	// for encrypted tables (a plain table's index is read in place from
	// its mapped file), and the ledger's are not encrypted: 0.
	IndexCache int64
	// LotCache and NodeCache are the ledger's decoded-lot caches (the
	// sequencer's lots, the queries' nodes; a tenth of NodeCache goes to
	// the proofs' stored hashes, HashCache); StateCache is its cache of
	// the latest committed state entries the write path reads.
	LotCache   int64
	NodeCache  int64
	StateCache int64
	// GoHeap is the rest: requests, commit groups, replies, garbage not
	// yet collected.
	GoHeap int64
}

// Split divides total: memtables of total/16 (at most badger's default of
// 64 MiB), a block cache of total/8, ledger caches of total/8 (3:5 between
// lots and nodes, as their former fixed sizes 64 and 96 MiB), a state
// cache of total/32 (its former fixed 32 MiB at 1 GiB), and the rest to
// the Go heap. It refuses a total under Min.
func Split(total Size) (Budget, error) {
	if total < Min {
		return Budget{}, fmt.Errorf("--memory %s is below the minimum of %s", total, Min)
	}
	t := int64(total)
	mt := min(t/16, int64(64*MiB))
	b := Budget{
		Total:        total,
		MemTableSize: mt,
		Memtables:    NumMemtables * mt,
		WAL:          NumMemtables * mt,
		Level0:       Level0Tables * mt,
		BlockCache:   t / 8,
		LotCache:     t / 8 * 3 / 8,
		NodeCache:    t / 8 * 5 / 8,
		StateCache:   t / 32,
	}
	b.GoHeap = t - b.Memtables - b.WAL - b.Level0 - b.BlockCache - b.IndexCache - b.LotCache - b.NodeCache - b.StateCache
	return b, nil
}

// GoLimit is the Go runtime's soft memory limit (debug.SetMemoryLimit):
// everything the Go heap holds (memtable arenas, caches, the rest), that
// is the total less the mapped files.
func (b Budget) GoLimit() int64 { return int64(b.Total) - b.WAL - b.Level0 }

// Mapped is the file-mapped part of the budget, the wal and level0 parts:
// what the process may hold resident of mapped files (badger's logs and
// tables, the program's own). Past it, serve releases the pages of
// badger's tables (package mapped), so that the tables' pages that queries
// touched do not stay resident beyond the budget.
func (b Budget) Mapped() int64 { return b.WAL + b.Level0 }

// HashCache is the share of NodeCache that the ledger's cache of stored
// Merkle hashes takes (a tenth; the proofs read them), 8 MiB at 1 GiB: the
// queries' caches are the decoded nodes and these hashes.
func (b Budget) HashCache() int64 { return b.NodeCache / 10 }

// A Part is one named part of a budget.
type Part struct {
	Name  string
	Bytes int64
}

// Parts lists the budget's parts in a fixed order, for /metrics and the
// start-up line. The file-mapped parts (Mapped) are wal and level0, and
// level0 also holds the pages of other tables that reads touched, until
// they are released.
func (b Budget) Parts() []Part {
	return []Part{
		{"memtables", b.Memtables},
		{"wal", b.WAL},
		{"level0", b.Level0},
		{"block_cache", b.BlockCache},
		{"index_cache", b.IndexCache},
		{"lot_cache", b.LotCache},
		{"node_cache", b.NodeCache},
		{"state_cache", b.StateCache},
		{"go_heap", b.GoHeap},
	}
}

// String prints the split on one line.
func (b Budget) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "memory budget %s:", b.Total)
	for i, p := range b.Parts() {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, " %s %s", p.Name, Size(p.Bytes))
		if p.Name == "node_cache" {
			fmt.Fprintf(&sb, " (hash_cache %s of it)", Size(b.HashCache()))
		}
	}
	return sb.String()
}
