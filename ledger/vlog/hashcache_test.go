package vlog

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// countTx counts the hashes read through it.
type countTx struct {
	mapTx
	gets int
}

func (c *countTx) Get(k []byte) ([]byte, error) { c.gets++; return c.mapTx.Get(k) }

// hashTree stores a tree of n records and returns its store.
func hashTree(t *testing.T, n int64) mapTx {
	t.Helper()
	tx := mapTx{}
	g := (&Frontier{}).Group(tx)
	for i := int64(0); i < n; i++ {
		if err := Append(tx, i, []byte(fmt.Sprintf("record %d", i)), g); err != nil {
			t.Fatal(err)
		}
	}
	return tx
}

func viewOf(tx Tx) func(fn func(Tx) error) error {
	return func(fn func(Tx) error) error { return fn(tx) }
}

// TestHashCacheProofs checks proofs through a warmed cache against the
// store's, and that after the warm-up they read from the store only hashes
// below Low: with every stored hash at Low and above deleted, the proofs are
// the same; with one below Low deleted, the proof that needs it fails as
// Tampered, as without the cache.
func TestHashCacheProofs(t *testing.T) {
	const n = 5000
	store := hashTree(t, n)
	c := NewHashCache(1<<20, 4)
	if err := c.Warm(viewOf(store), n, nil); err != nil {
		t.Fatal(err)
	}
	if c.Low() != 4 {
		t.Fatalf("Low %d after the warm-up, want 4", c.Low())
	}
	lower := mapTx{}
	for k, v := range store {
		lower[k] = v
	}
	for l := 4; n>>l > 0; l++ {
		for i := int64(0); i < n>>l; i++ {
			delete(lower, string(HashKey(tlog.StoredHashIndex(l, i))))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		size := 1 + r.Int64N(n)
		seq := r.Int64N(size)
		want, err := ProveRecord(HashReader(store), seq, size)
		if err != nil {
			t.Fatal(err)
		}
		tx := &countTx{mapTx: lower}
		got, err := ProveRecord(c.Reader(tx), seq, size)
		if err != nil {
			t.Fatalf("inclusion of %d in %d: %v", seq, size, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("inclusion of %d in %d: %v, want %v", seq, size, got, want)
		}
		// The leaf, its siblings at levels 0-3 and the tree's right
		// edge below level 4.
		if tx.gets > 9 {
			t.Errorf("inclusion of %d in %d read %d hashes from the store", seq, size, tx.gets)
		}
		from := 1 + r.Int64N(size)
		wantT, err := ProveTree(HashReader(store), from, size)
		if err != nil {
			t.Fatal(err)
		}
		gotT, err := ProveTree(c.Reader(lower), from, size)
		if err != nil || fmt.Sprint(gotT) != fmt.Sprint(wantT) {
			t.Fatalf("consistency of %d with %d: %v, %v, want %v", from, size, gotT, err, wantT)
		}
	}
	c = NewHashCache(1<<20, 4) // none of the recent hashes below
	if err := c.Warm(viewOf(store), n, nil); err != nil {
		t.Fatal(err)
	}
	seq := int64(4321)
	delete(lower, string(HashKey(tlog.StoredHashIndex(0, seq^1))))
	if _, err := ProveRecord(c.Reader(lower), seq, n); fault.KindOf(err) != fault.Tampered {
		t.Fatalf("a sibling below Low deleted: %v, want a Tampered error", err)
	}
}

// TestHashCacheKeepsTheRightEdge checks that the hashes every proof at the
// current size reads (the tree's right edge below Low) stay in the cache
// while random proofs read many other hashes below Low.
func TestHashCacheKeepsTheRightEdge(t *testing.T) {
	const n = 1<<14 - 1 // every level has a partial subtree
	store := hashTree(t, n)
	c := NewHashCache(1<<20, 10)
	if err := c.Warm(viewOf(store), n, nil); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var lastGets int
	for i := 0; i < 3*RecentHashes; i++ {
		tx := &countTx{mapTx: store}
		if _, err := ProveRecord(c.Reader(tx), r.Int64N(n), n); err != nil {
			t.Fatal(err)
		}
		lastGets = tx.gets
	}
	if len(c.recent)+len(c.old) > 2*RecentHashes {
		t.Errorf("%d recent hashes kept, want at most %d", len(c.recent)+len(c.old), 2*RecentHashes)
	}
	tx := &countTx{mapTx: store}
	if _, err := tlog.TreeHash(n, c.Reader(tx)); err != nil || tx.gets != 0 {
		t.Errorf("the tree hash of the current size read %d hashes from the store (%v), want none", tx.gets, err)
	}
	if lastGets > 11 {
		t.Errorf("a proof read %d hashes from the store, want at most 11", lastGets)
	}
}

// TestHashCacheBounded checks that the warm-up raises Low until the upper
// levels fit in half the bytes, that growth past the bytes raises it again,
// and that answers stay right.
func TestHashCacheBounded(t *testing.T) {
	const n = 1 << 12
	store := hashTree(t, n)
	c := NewHashCache(2*upperBytes(n, 6), 2)
	if err := c.Warm(viewOf(store), n, nil); err != nil {
		t.Fatal(err)
	}
	if c.Low() != 6 {
		t.Errorf("Low %d after the warm-up, want 6", c.Low())
	}
	// A tree of four times the size does not fit at level 6.
	const big = 4 * n
	store = hashTree(t, big)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2000; i++ {
		seq := r.Int64N(big)
		want, _ := ProveRecord(HashReader(store), seq, big)
		got, err := ProveRecord(c.Reader(store), seq, big)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("inclusion of %d: %v, %v, want %v", seq, got, err, want)
		}
	}
	if c.Low() <= 6 || c.upper > c.max {
		t.Errorf("Low %d and %d bytes at level %d and above after growth, want Low above 6 and at most %d", c.Low(), c.upper, c.Low(), c.max)
	}
}

// TestHashCacheWarmReadsTheTop checks that on a big tree the warm-up reads
// WarmHashes hashes at most, the top levels, and that the proofs fill the
// levels below, down to Low.
func TestHashCacheWarmReadsTheTop(t *testing.T) {
	const n = 3 * WarmHashes
	store := hashTree(t, n)
	tx := &countTx{mapTx: store}
	c := NewHashCache(1<<23, 0)
	if err := c.Warm(viewOf(tx), n, nil); err != nil {
		t.Fatal(err)
	}
	if tx.gets > WarmHashes || tx.gets < WarmHashes/2 || c.Low() != 0 {
		t.Fatalf("the warm-up read %d hashes (Low %d), want %d to %d (Low 0)", tx.gets, c.Low(), WarmHashes/2, WarmHashes)
	}
	seq := int64(12345)
	gets := func() int {
		tx := &countTx{mapTx: store}
		if _, err := ProveRecord(c.Reader(tx), seq, n); err != nil {
			t.Fatal(err)
		}
		return tx.gets
	}
	if first, again := gets(), gets(); first < 2 || again != 0 {
		t.Errorf("a proof read %d hashes from the store, the same proof again %d, want some and then none", first, again)
	}
}

// TestHashCacheWarmStops checks that a closed stop ends the warm-up.
func TestHashCacheWarmStops(t *testing.T) {
	store := hashTree(t, 1000)
	stop := make(chan struct{})
	close(stop)
	tx := &countTx{mapTx: store}
	if err := NewHashCache(1<<20, 0).Warm(viewOf(tx), 1000, stop); err != nil || tx.gets != 0 {
		t.Fatalf("warm-up after stop: %v, %d hashes read", err, tx.gets)
	}
	if err := NewHashCache(1<<20, 0).Warm(viewOf(tx), 1000, nil); err != nil || tx.gets != 1994 {
		t.Fatalf("warm-up: %v, %d hashes read, want all 1994 of levels 0 and above", err, tx.gets)
	}
}

// TestHashCacheConcurrent proves records from several goroutines while the
// warm-up runs (go test -race checks the locking) and checks every proof
// against the store's.
func TestHashCacheConcurrent(t *testing.T) {
	const n = 3000
	store := hashTree(t, n)
	c := NewHashCache(1<<20, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.Warm(viewOf(store), n, nil); err != nil {
			t.Error(err)
		}
	}()
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for i := 0; i < 300; i++ {
				seq := r.Int64N(n)
				want, _ := ProveRecord(HashReader(store), seq, n)
				got, err := ProveRecord(c.Reader(store), seq, n)
				if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("inclusion of %d: %v, %v, want %v", seq, got, err, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
