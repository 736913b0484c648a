package api_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileClient reads hash tiles over HTTP for tlog.TileHashReader.
type tileClient struct{ c *client }

func (tc tileClient) Height() int { return 8 }

func (tc tileClient) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		r := tc.c.do("GET", "/v1/log/"+t.Path(), nil)
		if r.Status != 200 {
			return nil, fmt.Errorf("tile %s: %d %s", t.Path(), r.Status, r.Body)
		}
		out[i] = r.Body
	}
	return out, nil
}

func (tileClient) SaveTiles([]tlog.Tile, [][]byte) {}

// openCheckpoint fetches and opens the latest signed checkpoint with stock
// note code and returns its tree.
func openCheckpoint(t *testing.T, pub *client) tlog.Tree {
	t.Helper()
	v, err := note.NewVerifier(strings.TrimSpace(string(pub.do("GET", "/v1/log/key", nil).want(200).Body)))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(pub.do("GET", "/v1/log/checkpoint", nil).want(200).Body, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(n.Text, "\n")
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q", n.Text)
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		t.Fatalf("checkpoint %q", n.Text)
	}
	var tree tlog.Tree
	tree.N = size
	copy(tree.Hash[:], h)
	return tree
}

// readableSeqs lists the seqs of the records a key is given from the whole
// log.
func readableSeqs(t *testing.T, c *client, size int64) map[int64]bool {
	t.Helper()
	r := c.do("GET", fmt.Sprintf("/v1/log/records?start=0&end=%d", size), nil).want(200)
	out := map[int64]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(string(r.Body), "\n"), "\n") {
		if line == "" {
			continue
		}
		var rec struct{ Seq int64 }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		out[rec.Seq] = true
	}
	return out
}

// TestVerifyWithoutReadingOverHTTP: anyone checks from the public tiles
// that the log only grew; record bodies and inclusion proofs go only to
// keys that may read them.
func TestVerifyWithoutReadingOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	pub := w.h.client("")
	old := openCheckpoint(t, pub)

	t0 := time.Now().Add(-72 * time.Hour).UTC()
	shLot, shTest := w.cleanLotInShanghai(t0)
	ship := w.event("sh-warehouse", map[string]any{"kind": "shipped", "at": t0.Add(8 * time.Hour).Format(time.RFC3339), "lot": shLot,
		"to_org": w.org("zj-market"), "to_site": "ZJ-MKT-GS", "quantity": kgs(4000)})
	zjRecv := w.event("zj-market", map[string]any{"kind": "received", "at": t0.Add(14 * time.Hour).Format(time.RFC3339),
		"lot": ship.CreatedLots[0].TraceCode, "site": "ZJ-MKT-GS", "quantity": kgs(4000)})
	szDecl := w.event("sz-importer", map[string]any{"kind": "declared", "at": t0.Format(time.RFC3339), "site": "SZ-SK-PORT", "declaration_no": "531620269000000124",
		"product":    map[string]any{"name": "冷冻带鱼", "hs_code": "0303890090", "category": "frozen", "origin_country": "NZ"},
		"containers": []map[string]any{{"number": "MSKU9070323"}}, "quantity": kgs(5000)})
	cur := openCheckpoint(t, pub)
	if cur.N <= old.N {
		t.Fatalf("the tree did not grow: %d -> %d", old.N, cur.N)
	}

	// Anonymous: no record bodies, no inclusion proofs.
	pub.do("GET", "/v1/log/records?start=0&end=3", nil).wantProblem(401, "unauthenticated", "")
	pub.do("GET", fmt.Sprintf("/v1/log/proof/inclusion?seq=%d", szDecl.Seq), nil).wantProblem(401, "unauthenticated", "")
	// ... but the tiles prove, with stock x/mod code, that the new tree
	// extends the old one.
	thr := tlog.TileHashReader(cur, tileClient{pub})
	proof, err := tlog.ProveTree(cur.N, old.N, thr)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckTree(proof, cur.N, cur.Hash, old.N, old.Hash); err != nil {
		t.Fatalf("consistency from the public tiles: %v", err)
	}
	// A forged old tree fails the same check.
	forged := old.Hash
	forged[0] ^= 1
	if err := tlog.CheckTree(proof, cur.N, cur.Hash, old.N, forged); err == nil {
		t.Fatal("a forged old root passed the consistency check")
	}
	// No data tiles, nothing beyond the tree, nothing that is not a tile.
	pub.do("GET", "/v1/log/tile/8/data/000", nil).wantProblem(404, "not_found", "")
	pub.do("GET", "/v1/log/tile/8/0/001", nil).wantProblem(404, "not_found", "")
	pub.do("GET", fmt.Sprintf("/v1/log/tile/8/0/000.p/%d", cur.N+1), nil).wantProblem(404, "not_found", "")
	pub.do("GET", "/v1/log/tile/8/0/x001/234.p/5", nil).wantProblem(404, "not_found", "")
	pub.do("GET", "/v1/log/tile/8/0/x001/x234/567.p/5", nil).wantProblem(404, "not_found", "")
	pub.do("GET", "/v1/log/tile/4/0/000.p/1", nil).wantProblem(404, "not_found", "")

	// An importer reads its own records, not a competitor's.
	sh, sz := w.key("sh-importer"), w.key("sz-importer")
	r := sh.do("GET", fmt.Sprintf("/v1/log/records?start=0&end=%d", cur.N), nil).want(200)
	if r.Header.Get("X-Records-Visibility") != "readable" {
		t.Errorf("X-Records-Visibility %q for an importer", r.Header.Get("X-Records-Visibility"))
	}
	shSees := readableSeqs(t, sh, cur.N)
	if !shSees[shTest] || shSees[szDecl.Seq] {
		t.Fatalf("sh-importer reads its lot's test %v, the competitor's declaration %v", shSees[shTest], shSees[szDecl.Seq])
	}
	if szSees := readableSeqs(t, sz, cur.N); !szSees[szDecl.Seq] || szSees[shTest] {
		t.Fatalf("sz-importer reads its declaration %v, the competitor's test %v", szSees[szDecl.Seq], szSees[shTest])
	}
	sh.do("GET", fmt.Sprintf("/v1/log/proof/inclusion?seq=%d", szDecl.Seq), nil).wantProblem(403, "forbidden", "")
	// A reader checks inclusion of what it may see against a checkpoint it
	// holds.
	var inc struct {
		Seq, Size        int64
		RecordHash, Root string
		Proof            []string
	}
	sh.do("GET", fmt.Sprintf("/v1/log/proof/inclusion?seq=%d&size=%d", shTest, cur.N), nil).want(200).JSON(&inc)
	body := sh.do("GET", fmt.Sprintf("/v1/log/records?start=%d&end=%d", shTest, shTest+1), nil).want(200).Body
	var rp tlog.RecordProof
	for _, p := range inc.Proof {
		b, _ := base64.StdEncoding.DecodeString(p)
		var h tlog.Hash
		copy(h[:], b)
		rp = append(rp, h)
	}
	if err := tlog.CheckRecord(rp, cur.N, cur.Hash, shTest, tlog.RecordHash(body[:len(body)-1])); err != nil {
		t.Fatalf("inclusion of the importer's own record against its checkpoint: %v", err)
	}

	// A regulator of 33 reads the records about lots in 33, not those only
	// in 44; Guangdong the other way round.
	zj, gd := w.key("zj-regulator"), w.key("gd-regulator")
	zjSees := readableSeqs(t, zj, cur.N)
	if !zjSees[zjRecv.Seq] || zjSees[szDecl.Seq] {
		t.Fatalf("zj-regulator reads the Hangzhou receipt %v, the Shenzhen declaration %v", zjSees[zjRecv.Seq], zjSees[szDecl.Seq])
	}
	zj.do("GET", fmt.Sprintf("/v1/log/proof/inclusion?seq=%d", zjRecv.Seq), nil).want(200)
	zj.do("GET", fmt.Sprintf("/v1/log/proof/inclusion?seq=%d", szDecl.Seq), nil).wantProblem(403, "forbidden", "")
	if gdSees := readableSeqs(t, gd, cur.N); !gdSees[szDecl.Seq] || gdSees[zjRecv.Seq] {
		t.Fatalf("gd-regulator reads the Shenzhen declaration %v, the Hangzhou receipt %v", gdSees[szDecl.Seq], gdSees[zjRecv.Seq])
	}
	// Admins read every record.
	if all := readableSeqs(t, w.h.admin, cur.N); int64(len(all)) != cur.N {
		t.Fatalf("the admin reads %d of %d records", len(all), cur.N)
	}
}
