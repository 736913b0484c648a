package vlog

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
)

// scanTx is a mapTx whose Scan walks the keys in order, as a store's does
// (the ledger's TestVerifyLogFindsTampering runs Verify on badger; this
// checks the log alone).
type scanTx struct{ mapTx }

func (s scanTx) Scan(prefix, start []byte, _ bool, fn func(k, v []byte) error) error {
	var keys []string
	for k := range s.mapTx {
		if strings.HasPrefix(k, string(prefix)) && k >= string(start) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn([]byte(k), s.mapTx[k]); err == fault.ErrStop {
			return nil
		} else if err != nil {
			return err
		}
	}
	return nil
}

// testLog builds a log of size records (a multiple of 500) with a
// checkpoint every 500.
func testLog(t *testing.T, size int64) (scanTx, *Key) {
	t.Helper()
	_, key, err := GenerateKey("test.example/log")
	if err != nil {
		t.Fatal(err)
	}
	tx := scanTx{mapTx{}}
	f := &Frontier{}
	for n := int64(0); n < size; n += 500 {
		g := f.Group(tx)
		for seq := n; seq < n+500; seq++ {
			if err := Append(tx, seq, []byte(fmt.Sprintf("record %d", seq)), g); err != nil {
				t.Fatal(err)
			}
		}
		root, err := tlog.TreeHash(n+500, g)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := Sign(key.Signer, Checkpoint{Origin: "test.example/log", Size: n + 500, Root: root})
		if err != nil {
			t.Fatal(err)
		}
		if err := PutCheckpoint(tx, n+500, msg); err != nil {
			t.Fatal(err)
		}
		f.Commit(g, n+500)
	}
	return tx, key
}

// TestVerify builds a log of 2,500 records with a checkpoint every 500,
// checks that Verify passes it, and that each kind of damage is found, as
// Tampered, at the record it touched.
func TestVerify(t *testing.T) {
	const size = 2500
	tx, key := testLog(t, size)
	check := func(seq int64, data []byte) error {
		if string(data) != fmt.Sprintf("record %d", seq) {
			return fault.Errorf(fault.Tampered, "record %d: not what it says", seq)
		}
		return nil
	}
	var done int64
	n, err := Verify(context.Background(), tx, size, key.Verifier, check, func(d, _ int64) { done = d })
	if err != nil || n != size/500 || done != size {
		t.Fatalf("Verify of an untouched log: %d checkpoints, %d records told, %v", n, done, err)
	}
	flip := func(v []byte) []byte { w := bytes.Clone(v); w[len(w)-1] ^= 1; return w }
	for _, c := range []struct {
		name   string
		key    []byte
		change func([]byte) []byte // nil deletes
		want   string
	}{
		{"record bytes", RecordKey(1717), func(v []byte) []byte { return []byte("record 1718") }, "record 1717: not what it says"},
		{"missing record", RecordKey(2000), nil, "record 2000: missing"},
		{"stored hash", HashKey(tlog.StoredHashIndex(0, 1203) + 2), flip, "record 1203: stored Merkle hash"},
		{"missing hash", HashKey(tlog.StoredHashIndex(0, 999)), nil, "record 999: stored hash"},
		{"checkpoint signature", CheckpointKey(1500), flip, "checkpoint at size 1500"},
	} {
		old := tx.mapTx[string(c.key)]
		if c.change == nil {
			delete(tx.mapTx, string(c.key))
		} else {
			tx.mapTx[string(c.key)] = c.change(old)
		}
		_, err := Verify(context.Background(), tx, size, key.Verifier, check, nil)
		if fault.KindOf(err) != fault.Tampered || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Verify = %v, want Tampered naming %q", c.name, err, c.want)
		}
		tx.mapTx[string(c.key)] = old
	}
	// Two problems at once: the one of the step that comes first is
	// reported (records, then stored hashes, then checkpoints), whatever
	// the records they touch, as when the steps ran one after the other.
	for _, c := range []struct {
		name string
		keys [2][]byte
		want string
	}{
		{"hash below a bad record", [2][]byte{HashKey(tlog.StoredHashIndex(0, 100)), RecordKey(2100)}, "record 2100: not what it says"},
		{"checkpoint below a bad hash", [2][]byte{CheckpointKey(500), HashKey(tlog.StoredHashIndex(0, 2303) + 2)}, "record 2303: stored Merkle hash"},
	} {
		olds := [2][]byte{tx.mapTx[string(c.keys[0])], tx.mapTx[string(c.keys[1])]}
		for _, k := range c.keys {
			tx.mapTx[string(k)] = flip(tx.mapTx[string(k)])
		}
		_, err := Verify(context.Background(), tx, size, key.Verifier, check, nil)
		if fault.KindOf(err) != fault.Tampered || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Verify = %v, want Tampered naming %q", c.name, err, c.want)
		}
		for i, k := range c.keys {
			tx.mapTx[string(k)] = olds[i]
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Verify(ctx, tx, size, key.Verifier, check, nil); err != context.Canceled {
		t.Errorf("Verify with a cancelled context: %v", err)
	}
}
