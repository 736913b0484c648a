package ledger_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/ledger/vlog"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/fsblob"
)

// goldenPath holds a data directory written by the code before the layout
// refactor (issue 11): every key/value pair of the badger store, the signing
// key, the attachments and the JSON answers of a few queries on it. It is a
// compatibility contract: a data directory written before must open after.
const goldenPath = "testdata/golden-datadir.json.gz"

var updateGolden = flag.Bool("update-golden", false, "rewrite "+goldenPath+" from the current code (only when the on-disk format changes on purpose)")

// goldenDir is the file at goldenPath.
type goldenDir struct {
	Key     string            `json:"key"`     // the note signing key text
	Demo    *fixtures.Demo    `json:"demo"`    // what the demo recorded
	Pairs   [][2][]byte       `json:"pairs"`   // the store, in key order
	Blobs   map[string][]byte `json:"blobs"`   // attachment objects by name
	Answers map[string][]byte `json:"answers"` // query name -> JSON answer
}

// goldenQueries are the queries whose answers the golden file keeps. None of
// them depends on the time it is asked at.
func goldenQueries(t *testing.T, l *ledger.Ledger, admin ledger.Principal, d *fixtures.Demo) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	put := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	for story, code := range map[string]string{"happy": d.Happy, "positive": d.Positive, "violation": d.Violation} {
		lot, err := l.Lot(t.Context(), admin, code)
		var state *ledger.Lot // the lot's state; its papers came later (issue 12)
		if lot != nil {
			state = lot.Lot
		}
		put("lot/"+story, state, err)
		pub, err := l.PublicLot(t.Context(), code)
		put("public/"+story, pub, err)
		up, err := l.Trace(t.Context(), admin, code, "up", 100)
		put("trace-up/"+story, up, err)
		down, err := l.Trace(t.Context(), admin, code, "down", 100)
		put("trace-down/"+story, down, err)
		rec, err := l.Recall(t.Context(), admin, code)
		put("recall/"+story, rec, err)
		cl, err := l.Closure(t.Context(), admin, code)
		put("closure/"+story, cl, err)
		evs, err := l.LotEvents(t.Context(), admin, code)
		put("events/"+story, evs, err)
	}
	return out
}

// TestGoldenDataDir loads the data directory written by the code before the
// refactor into a fresh store, runs what `coldtrace verify` runs on it, and
// asks the golden queries.
func TestGoldenDataDir(t *testing.T) {
	if *updateGolden {
		writeGolden(t)
	}
	g := readGolden(t)
	store, blobs, key := openGolden(t, g)

	// What `coldtrace verify` runs.
	scratch, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer scratch.Close()
	rep, err := ledger.Verify(context.Background(), store, scratch, key.Verifier, nil)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Size == 0 || rep.Checkpoints == 0 || rep.StateKeys == 0 {
		t.Fatalf("verify checked nothing: %+v", rep)
	}
	arep, err := ledger.VerifyAttachments(context.Background(), store, blobs, nil)
	if err != nil {
		t.Fatalf("verify attachments: %v (%v)", err, arep.Problems)
	}
	if arep.Checked == 0 {
		t.Fatal("no attachment checked")
	}

	l, err := ledger.New(store, key, ledger.Options{Blobs: blobs, SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := l.Size(); got != rep.Size {
		t.Errorf("size %d, verify saw %d", got, rep.Size)
	}
	checkGoldenAnswers(t, l, g)
}

// checkGoldenAnswers asks l the golden queries as the demo's admin and
// compares the answers with g's, byte for byte.
func checkGoldenAnswers(t *testing.T, l *ledger.Ledger, g *goldenDir) {
	t.Helper()
	admin, err := l.Authenticate(t.Context(), fixtures.TestAdminSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := goldenQueries(t, l, admin, g.Demo)
	for name, want := range g.Answers {
		if !bytes.Equal(got[name], want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got[name], want)
		}
	}
	if len(got) != len(g.Answers) {
		t.Errorf("%d answers, golden has %d", len(got), len(g.Answers))
	}
}

// openGolden loads the golden data directory g into a fresh store and blob
// folder.
func openGolden(t *testing.T, g *goldenDir) (*badgerkv.Store, *fsblob.Blobs, *vlog.Key) {
	t.Helper()
	dir := t.TempDir()
	store, err := badgerkv.Open(filepath.Join(dir, "db"), badgerkv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.Update(t.Context(), func(tx ledger.Tx) error {
		for _, p := range g.Pairs {
			if err := tx.Set(p[0], p[1]); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	blobs := fsblob.New(filepath.Join(dir, "blobs"))
	for name, data := range g.Blobs {
		if err := blobs.Put(context.Background(), name, bytes.NewReader(data), int64(len(data)), ""); err != nil {
			t.Fatal(err)
		}
	}
	key, err := vlog.ParseKey(g.Key)
	if err != nil {
		t.Fatal(err)
	}
	return store, blobs, key
}

func readGolden(t *testing.T) *goldenDir {
	t.Helper()
	var g goldenDir
	readGzipJSON(t, goldenPath, &g)
	return &g
}

// readGzipJSON decodes the gzipped JSON file at path into v.
func readGzipJSON(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(zr).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// writeGzipJSON writes v to path as gzipped JSON and returns its size.
func writeGzipJSON(t *testing.T, path string, v any) int {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}

// storePairs returns every key and value of store under prefix, in key
// order.
func storePairs(t *testing.T, store ledger.Store, prefix []byte) (out [][2][]byte) {
	t.Helper()
	if err := store.View(t.Context(), func(tx ledger.Tx) error {
		return tx.Scan(prefix, nil, false, func(k, v []byte) error {
			out = append(out, [2][]byte{bytes.Clone(k), bytes.Clone(v)})
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// writeGolden builds the demo ledger with the current code and writes it to
// goldenPath.
func writeGolden(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e := fixtures.OpenTestLedger(t, ledger.Options{})
	d, err := fixtures.LoadDemo(ctx, e.L, e.Admin)
	if err != nil {
		t.Fatal(err)
	}
	g := goldenDir{Key: e.SigningKey, Demo: d, Blobs: map[string][]byte{}}
	g.Answers = goldenQueries(t, e.L, e.Admin, d)
	g.Pairs = storePairs(t, e.Store, nil)
	root := filepath.Join(e.Dir, "blobs")
	if err := filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		data, err := os.ReadFile(path)
		g.Blobs[filepath.ToSlash(rel)] = data
		return err
	}); err != nil {
		t.Fatal(err)
	}
	n := writeGzipJSON(t, goldenPath, &g)
	t.Logf("wrote %s: %d pairs, %d blobs, %d bytes", goldenPath, len(g.Pairs), len(g.Blobs), n)
}
