package ledger_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// TestVerifyLogFindsTampering builds a log of a few thousand records (one
// chunk of the check's workers; vlog's TestVerifyChunks checks logs of
// many chunks), then alters one thing
// at a time through badger itself and checks that the log-only check
// names the first bad record or checkpoint, and that it passes again once
// the value is put back.
func TestVerifyLogFindsTampering(t *testing.T) {
	e := newEnv(t)
	const n = 2200
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				if _, err := e.l.Submit(context.Background(), e.admin, orgEvent(100+i), ""); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	size := e.l.Size()
	clean, err := ledger.VerifyLog(context.Background(), e.store, e.key.Verifier, nil)
	if err != nil {
		t.Fatalf("VerifyLog of an untouched log: %v", err)
	}
	full := e.verify()
	if clean.Size != size || clean.Checkpoints != full.Checkpoints || clean.Checkpoints < 2 {
		t.Fatalf("VerifyLog checked %d records and %d checkpoints; Verify %d and %d (size %d)", clean.Size, clean.Checkpoints, full.Size, full.Checkpoints, size)
	}
	flip := func(v []byte) []byte { v = bytes.Clone(v); v[0] ^= 1; return v }
	cases := []struct {
		name   string
		key    []byte
		change func([]byte) []byte // nil: delete
		want   string
	}{
		{"record bytes in a later chunk", recordKey(2100), func(v []byte) []byte {
			return []byte(strings.Replace(string(v), "测试进口商", "测试出口商", 1))
		}, "record 2100:"},
		{"record not canonical", recordKey(1025), func(v []byte) []byte { return append(bytes.Clone(v), ' ') }, "record 1025: is not in the ledger's canonical encoding"},
		{"stored interior hash", vlog.HashKey(tlog.StoredHashIndex(0, 1503) + 3), flip, "record 1503: stored Merkle hash"},
		{"checkpoint text", vlog.CheckpointKey(size), func(v []byte) []byte {
			return bytes.Replace(v, []byte("test.example/log"), []byte("test.example/lag"), 1)
		}, "checkpoint at size"},
		{"missing record", recordKey(2199), nil, "record 2199: missing"},
	}
	for _, c := range cases {
		var old []byte
		if err := e.store.View(context.Background(), func(tx ledger.Tx) (err error) { old, err = tx.Get(c.key); return err }); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		set := func(v []byte) {
			if err := e.store.Update(context.Background(), func(tx ledger.Tx) error {
				if v == nil {
					return tx.Delete(c.key)
				}
				return tx.Set(c.key, v)
			}); err != nil {
				t.Fatal(err)
			}
		}
		var bad []byte
		if c.change != nil {
			bad = c.change(old)
		}
		set(bad)
		_, err := ledger.VerifyLog(context.Background(), e.store, e.key.Verifier, nil)
		if fault.KindOf(err) != fault.Tampered || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: VerifyLog = %v, want Tampered naming %q", c.name, err, c.want)
		}
		set(old)
		if _, err := ledger.VerifyLog(context.Background(), e.store, e.key.Verifier, nil); err != nil {
			t.Fatalf("%s put back: %v", c.name, err)
		}
	}
}
