package memory

import (
	"strings"
	"testing"
)

func TestSplitOneGiB(t *testing.T) {
	b, err := Split(GiB)
	if err != nil {
		t.Fatal(err)
	}
	want := Budget{Total: GiB, MemTableSize: 64 << 20, Memtables: 192 << 20, WAL: 192 << 20, Level0: 192 << 20,
		BlockCache: 128 << 20, LotCache: 48 << 20, NodeCache: 80 << 20, StateCache: 32 << 20, GoHeap: 160 << 20}
	if b != want {
		t.Fatalf("Split(1GiB) = %+v, want %+v", b, want)
	}
	if got := b.GoLimit(); got != 640<<20 {
		t.Errorf("GoLimit = %d MiB, want 640", got>>20)
	}
}

func TestSplitPartsAddUp(t *testing.T) {
	for _, total := range []Size{Min, 300 * MiB, 512 * MiB, GiB, 1536 * MiB, 8 * GiB, 64*GiB + 7} {
		b, err := Split(total)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, p := range b.Parts() {
			if p.Bytes < 0 || (p.Bytes == 0 && p.Name != "index_cache") {
				t.Errorf("Split(%s): part %s is %d", total, p.Name, p.Bytes)
			}
			sum += p.Bytes
		}
		if sum != int64(total) {
			t.Errorf("Split(%s): parts add up to %d, want %d", total, sum, int64(total))
		}
		if b.MemTableSize > 64<<20 || b.MemTableSize < 16<<20 {
			t.Errorf("Split(%s): memtable of %d MiB, want 16 to 64", total, b.MemTableSize>>20)
		}
		if b.Memtables != NumMemtables*b.MemTableSize || b.Level0 != Level0Tables*b.MemTableSize {
			t.Errorf("Split(%s): memtables %d, level0 %d for memtables of %d", total, b.Memtables, b.Level0, b.MemTableSize)
		}
		if b.GoLimit() != int64(total)-b.WAL-b.Level0 {
			t.Errorf("Split(%s): Go limit %d", total, b.GoLimit())
		}
	}
}

func TestSplitHalfGiBAndLarge(t *testing.T) {
	b, _ := Split(512 * MiB)
	if b.MemTableSize != 32<<20 || b.BlockCache != 64<<20 || b.StateCache != 16<<20 || b.GoHeap != 80<<20 {
		t.Errorf("Split(512MiB) = %+v", b)
	}
	b, _ = Split(8 * GiB)
	if b.MemTableSize != 64<<20 || b.BlockCache != int64(GiB) || b.StateCache != 256<<20 || b.GoHeap != int64(8*GiB)-3*192<<20-2*int64(GiB)-256<<20 {
		t.Errorf("Split(8GiB) = %+v", b)
	}
}

// TestHashCacheShare checks that the proofs' hash cache is a tenth of the
// node cache's part, and that the start-up line says so.
func TestHashCacheShare(t *testing.T) {
	b, _ := Split(GiB)
	if b.HashCache() != 8<<20 {
		t.Errorf("HashCache at 1GiB = %d, want 8 MiB", b.HashCache())
	}
	if s := b.String(); !strings.Contains(s, "node_cache 80MiB (hash_cache 8MiB of it)") {
		t.Errorf("the budget line %q does not tell the hash cache's share", s)
	}
}

func TestSplitRefusesTooSmall(t *testing.T) {
	for _, total := range []Size{0, 100 * MiB, Min - 1} {
		_, err := Split(total)
		if err == nil {
			t.Fatalf("Split(%d) took a budget under the minimum", total)
		}
		if !strings.Contains(err.Error(), "--memory") || !strings.Contains(err.Error(), "256MiB") {
			t.Errorf("Split(%d): %v does not name the flag and the minimum", total, err)
		}
	}
	if _, err := Split(Min); err != nil {
		t.Errorf("Split(Min): %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"1GiB": GiB, "512MiB": 512 * MiB, "1.5g": 1536 * MiB, "2 GB": 2 * GiB,
		"1048576": MiB, "64k": 64 * KiB, "300mb": 300 * MiB, "7B": 7} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "1TiB", "-1GiB", "1 GiBs", "x1"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) took it", in)
		}
	}
	for s, want := range map[Size]string{GiB: "1GiB", 512 * MiB: "512MiB", 1536 * MiB: "1.5GiB", 7: "7B"} {
		if s.String() != want {
			t.Errorf("%d prints %s, want %s", int64(s), s, want)
		}
	}
}

// TestMappedAndGoLimit: the file-mapped part (wal and level0, 384 MiB at
// 1 GiB) and the Go limit add up to the total at every size.
func TestMappedAndGoLimit(t *testing.T) {
	b, _ := Split(GiB)
	if got := b.Mapped(); got != 384<<20 {
		t.Errorf("Mapped at 1GiB = %d MiB, want 384", got>>20)
	}
	for _, total := range []Size{Min, 512 * MiB, GiB, 8 * GiB} {
		b, _ := Split(total)
		if b.Mapped()+b.GoLimit() != int64(total) {
			t.Errorf("Split(%s): mapped %d + Go limit %d != %d", total, b.Mapped(), b.GoLimit(), int64(total))
		}
	}
}
