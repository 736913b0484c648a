package vlog

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// mapTx is a Tx over a map, enough for the hashes: Scan is not used.
type mapTx map[string][]byte

func (m mapTx) Get(k []byte) ([]byte, error) {
	v, ok := m[string(k)]
	if !ok {
		return nil, fault.Errorf(fault.NotFound, "no key")
	}
	return v, nil
}
func (m mapTx) Set(k, v []byte) error { m[string(k)] = v; return nil }
func (m mapTx) Delete(k []byte) error { delete(m, string(k)); return nil }
func (m mapTx) Scan([]byte, []byte, bool, func(k, v []byte) error) error {
	panic("not used")
}

// TestFrontierMatchesStoredHashes appends records in groups of random sizes,
// some of them abandoned (as an aborted transaction is), and checks every
// tree hash against tlog reading the stored hashes, every stored hash
// against tlog computing from the records alone, and that a complete
// frontier reads nothing from the store; a restart (an empty frontier) in
// the middle must change nothing.
func TestFrontierMatchesStoredHashes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	committed := mapTx{}
	f := &Frontier{}
	var n int64
	for round := 0; n < 3000; round++ {
		if round == 40 {
			f = &Frontier{} // a restart
		}
		// A group writes into a copy and is committed only sometimes.
		tx := mapTx{}
		for k, v := range committed {
			tx[k] = v
		}
		g := f.Group(tx)
		warm := len(f.hashes) == len(subtreeIndexes(n))
		size := n
		for i := r.IntN(70); i >= 0; i-- {
			if err := Append(tx, size, []byte(fmt.Sprintf("record %d", size)), g); err != nil {
				t.Fatal(err)
			}
			size++
		}
		root, err := tlog.TreeHash(size, g)
		if err != nil {
			t.Fatal(err)
		}
		want, err := tlog.TreeHash(size, HashReader(tx))
		if err != nil || root != want {
			t.Fatalf("tree hash of %d records: %v, stored hashes give %v (%v)", size, root, want, err)
		}
		if warm && len(g.read) > 0 {
			t.Fatalf("round %d read %d hashes from the store with a complete frontier", round, len(g.read))
		}
		if r.IntN(4) == 0 {
			continue // abandoned: nothing committed, the frontier unchanged
		}
		committed, n = tx, size
		f.Commit(g, n)
		if got := len(f.hashes); got != len(subtreeIndexes(n)) {
			t.Fatalf("frontier of %d records holds %d hashes, want %d", n, got, len(subtreeIndexes(n)))
		}
	}
	check := mapTx{}
	for i := int64(0); i < n; i++ {
		hs, err := tlog.StoredHashes(i, []byte(fmt.Sprintf("record %d", i)), HashReader(check))
		if err != nil {
			t.Fatal(err)
		}
		base := tlog.StoredHashIndex(0, i)
		for j, h := range hs {
			check[string(HashKey(base+int64(j)))] = h[:]
			if got := committed[string(HashKey(base+int64(j)))]; string(got) != string(h[:]) {
				t.Fatalf("stored hash %d of record %d differs", base+int64(j), i)
			}
		}
	}
}
