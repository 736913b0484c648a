package ledger_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
)

// TestVerifyProvesTheEncoding rewrites one record into bytes that are not
// a record of the ledger's canonical encoding at its place, then makes the
// log whole again (every stored hash recomputed, every checkpoint signed
// again with the log's key, as a writer that wrote such bytes would have):
// VerifyLog, which proves that the records are the bytes the log signed,
// passes, and Verify, which decodes every record in its replay, names the
// record and what is wrong with it.
func TestVerifyProvesTheEncoding(t *testing.T) {
	cases := []struct {
		name   string
		seq    int64
		change func([]byte) []byte
		want   string
	}{
		{"a space before", 3, func(v []byte) []byte { return append([]byte(" "), v...) }, "record 3: is not in the ledger's canonical encoding"},
		{"another place", 5, func(v []byte) []byte { return bytes.Replace(v, []byte(`"seq":5,`), []byte(`"seq":6,`), 1) }, "record 5: says it is record 6"},
		{"not a record", 4, func([]byte) []byte { return []byte(`{"seq":4,"kind":"x","extra":1}`) }, "record 4: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			for i := 1; i <= 12; i++ {
				e.submit(e.admin, orgEvent(i))
			}
			e.verify()
			e.rewrite(recordKey(c.seq), func(v []byte) []byte {
				w := c.change(v)
				if bytes.Equal(w, v) {
					t.Fatalf("the change left record %d as it was: %s", c.seq, v)
				}
				return w
			})
			reseal(t, e)
			ctx := context.Background()
			if _, err := ledger.VerifyLog(ctx, e.store, e.key.Verifier, nil); err != nil {
				t.Fatalf("VerifyLog of the log signed again: %v", err)
			}
			scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			defer scratch.Close()
			_, err = ledger.Verify(ctx, e.store, scratch, e.key.Verifier, nil)
			if fault.KindOf(err) != fault.Tampered || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Verify = %v, want Tampered naming %q", err, c.want)
			}
		})
	}
}

// reseal recomputes every stored hash of e's log from its records and
// signs every checkpoint again with the log's key.
func reseal(t *testing.T, e *env) {
	t.Helper()
	err := e.store.Update(context.Background(), func(tx ledger.Tx) error {
		hashes := map[int64]tlog.Hash{}
		hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for i, x := range idx {
				out[i] = hashes[x]
			}
			return out, nil
		})
		err := vlog.ScanRecords(tx, 0, func(seq int64, v []byte) error {
			hs, err := tlog.StoredHashes(seq, v, hr)
			if err != nil {
				return err
			}
			for i, h := range hs {
				idx := tlog.StoredHashIndex(0, seq) + int64(i)
				hashes[idx] = h
				if err := tx.Set(vlog.HashKey(idx), bytes.Clone(h[:])); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		sizes, err := vlog.Checkpoints(tx)
		if err != nil {
			return err
		}
		for _, n := range sizes {
			root, err := tlog.TreeHash(n, hr)
			if err != nil {
				return err
			}
			msg, err := vlog.Sign(e.key.Signer, vlog.Checkpoint{Origin: e.key.Name(), Size: n, Root: root})
			if err != nil {
				return err
			}
			if err := vlog.PutCheckpoint(tx, n, msg); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
