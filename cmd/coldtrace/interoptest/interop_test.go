package interoptest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const adminKey = "interop-admin-key-0123456789"

// startColdtrace builds the binary and serves a fresh ledger on a random
// loopback port.
func startColdtrace(t *testing.T) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "coldtrace")
	build := exec.Command("go", "build", "-o", bin, "coldtrace/cmd/coldtrace")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	cmd.Env = append(os.Environ(), "COLDTRACE_BOOTSTRAP_ADMIN_KEY="+adminKey)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening on (http://\S+)`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(60 * time.Second):
		t.Fatal("coldtrace did not start")
	}
	return ""
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey) // record bodies and inclusion proofs need a key
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, data)
	}
	return data
}

// checkpoint fetches and opens the signed checkpoint with the stock note
// package, returning tree size and root.
func checkpoint(t *testing.T, base string, v note.Verifier, query string) (int64, tlog.Hash) {
	t.Helper()
	msg := get(t, base+"/v1/log/checkpoint"+query)
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v\n%s", err, msg)
	}
	lines := strings.Split(n.Text, "\n")
	if lines[0] != v.Name() {
		t.Fatalf("origin %q, key name %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		t.Fatalf("root %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], raw)
	return size, h
}

func decodeHashes(t *testing.T, in []string) []tlog.Hash {
	out := make([]tlog.Hash, len(in))
	for i, s := range in {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			t.Fatalf("bad hash %q", s)
		}
		copy(out[i][:], raw)
	}
	return out
}

func addOrgs(t *testing.T, base string, from, to int) {
	const cs = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for n := from; n < to; n++ {
		p := fmt.Sprintf("91440300MA%07d", n)
		sum, w := 0, 1
		for i := 0; i < 17; i++ {
			sum += strings.IndexByte(cs, p[i]) * w
			w = w * 3 % 31
		}
		body := fmt.Sprintf(`{"uscc":"%s","name":"interop %d","roles":["importer"],"region":"440305"}`, p+string(cs[(31-sum%31)%31]), n)
		req, _ := http.NewRequest("POST", base+"/v1/orgs", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("POST /v1/orgs: %d", resp.StatusCode)
		}
	}
}

func TestProofsWithStockVerifiers(t *testing.T) {
	base := startColdtrace(t)
	addOrgs(t, base, 0, 37)
	v, err := note.NewVerifier(strings.TrimSpace(string(get(t, base+"/v1/log/key"))))
	if err != nil {
		t.Fatal(err)
	}
	oldSize, oldRoot := checkpoint(t, base, v, "")
	if oldSize != 38 {
		t.Fatalf("tree size %d, want 38", oldSize)
	}

	// Every record's inclusion in the signed tree.
	recs := bytes.Split(bytes.TrimSuffix(get(t, fmt.Sprintf("%s/v1/log/records?start=0&end=%d", base, oldSize)), []byte("\n")), []byte("\n"))
	if int64(len(recs)) != oldSize {
		t.Fatalf("%d records served, want %d", len(recs), oldSize)
	}
	type inclusion struct {
		Seq        int64    `json:"seq"`
		Size       int64    `json:"size"`
		RecordHash string   `json:"record_hash"`
		Proof      []string `json:"proof"`
	}
	for seq, data := range recs {
		var p inclusion
		if err := json.Unmarshal(get(t, fmt.Sprintf("%s/v1/log/proof/inclusion?seq=%d&size=%d", base, seq, oldSize)), &p); err != nil {
			t.Fatal(err)
		}
		leaf := tlog.RecordHash(data)
		if base64.StdEncoding.EncodeToString(leaf[:]) != p.RecordHash {
			t.Fatalf("record %d: served record_hash is not the hash of the served bytes", seq)
		}
		proof := tlog.RecordProof(decodeHashes(t, p.Proof))
		if err := tlog.CheckRecord(proof, oldSize, oldRoot, int64(seq), leaf); err != nil {
			t.Fatalf("record %d: CheckRecord: %v", seq, err)
		}
		// A wrong proof must be rejected: the wrong leaf, the wrong index,
		// a flipped bit.
		other := tlog.RecordHash(append(bytes.Clone(data), ' '))
		if tlog.CheckRecord(proof, oldSize, oldRoot, int64(seq), other) == nil {
			t.Fatalf("record %d: a proof accepted altered bytes", seq)
		}
		if len(proof) > 0 {
			bad := append(tlog.RecordProof(nil), proof...)
			bad[0][0] ^= 1
			if tlog.CheckRecord(bad, oldSize, oldRoot, int64(seq), leaf) == nil {
				t.Fatalf("record %d: a corrupted proof was accepted", seq)
			}
			if tlog.CheckRecord(proof, oldSize, oldRoot, int64(seq+1)%oldSize, leaf) == nil && int64(seq+1)%oldSize != int64(seq) {
				t.Fatalf("record %d: proof accepted at another index", seq)
			}
		}
	}

	// The log grows; the new signed tree must extend the old one.
	addOrgs(t, base, 37, 100)
	newSize, newRoot := checkpoint(t, base, v, "")
	if newSize != 101 {
		t.Fatalf("tree size %d, want 101", newSize)
	}
	type consistency struct {
		From, To int64
		Proof    []string `json:"proof"`
	}
	for _, from := range []int64{1, 2, 7, oldSize, 64, newSize} {
		var c consistency
		if err := json.Unmarshal(get(t, fmt.Sprintf("%s/v1/log/proof/consistency?from=%d&to=%d", base, from, newSize)), &c); err != nil {
			t.Fatal(err)
		}
		proof := tlog.TreeProof(decodeHashes(t, c.Proof))
		// The old root of size from comes from the checkpoint signed at
		// that size (one is signed per commit), not from the server's word.
		fromSize, fromRoot := checkpoint(t, base, v, fmt.Sprintf("?size=%d", from))
		if fromSize != from {
			t.Fatalf("checkpoint at size %d says %d", from, fromSize)
		}
		if err := tlog.CheckTree(proof, newSize, newRoot, from, fromRoot); err != nil {
			t.Fatalf("CheckTree(%d -> %d): %v", from, newSize, err)
		}
		wrong := fromRoot
		wrong[5] ^= 0x80
		if from != newSize && tlog.CheckTree(proof, newSize, newRoot, from, wrong) == nil {
			t.Fatalf("CheckTree accepted a wrong old root at %d", from)
		}
	}
	if _, root := checkpoint(t, base, v, fmt.Sprintf("?size=%d", oldSize)); root != oldRoot {
		t.Fatal("the checkpoint at the old size changed")
	}

	// A checkpoint opened with a different key of the same name fails.
	_, otherV, _ := note.GenerateKey(nil, v.Name())
	ov, _ := note.NewVerifier(otherV)
	if _, err := note.Open(get(t, base+"/v1/log/checkpoint"), note.VerifierList(ov)); err == nil {
		t.Fatal("checkpoint opened with another key")
	}
}
