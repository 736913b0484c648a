package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size MiB on a new temporary directory and
// unmounts it when the test ends. Mounting needs root: without it the test
// skips saying why, except with CI=true, where it fails (a missing
// dependency never skips in CI).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("cannot mount a %d MiB tmpfs (the full-disk test runs as root): %v %s", size, err, out)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// freeBytes is the space left on the file system of path.
func freeBytes(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// TestRealDiskFull runs the server with its data directory on a real small
// file system (a tmpfs), fills the disk to just above the free-space
// reserve with a file, and then writes until the disk is under the
// reserve: writes answer 503 saying why (and the server does not crash, as
// it did with SIGBUS inside badger's mmapped memtable before the reserve),
// /readyz fails, reads and uploads' refusals work; once the filler is
// deleted writing resumes without a restart, every acknowledged record is
// there after a restart and verify passes.
func TestRealDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("full-disk test in -short mode")
	}
	const (
		diskMiB    = 192
		reserveMiB = 24
		headMiB    = 3 // room left above the reserve for real writes to fill
	)
	dir := smallDisk(t, diskMiB)
	s := startServerArgs(t, dir, []string{"--min-free", strconv.Itoa(reserveMiB << 20)})
	c := &http.Client{Timeout: 10 * time.Second}
	if code := call(t, c, "GET", s.URL+"/readyz", "", nil, nil); code != 200 {
		t.Fatalf("/readyz on an empty disk: %d", code)
	}

	// The filler leaves headMiB above the reserve.
	filler := filepath.Join(dir, "filler")
	fill := freeBytes(t, dir) - (reserveMiB+headMiB)<<20
	if fill <= 0 {
		t.Fatalf("the %d MiB disk has only %d MiB free after the server started", diskMiB, freeBytes(t, dir)>>20)
	}
	writeFiller(t, filler, fill)
	t.Logf("filler of %d MiB, %d MiB free", fill>>20, freeBytes(t, dir)>>20)

	// Real ingest, 16 writers registering orgs, until the disk is under
	// the reserve and writes are refused.
	var (
		mu     sync.Mutex
		acked  = map[int64]string{} // seq -> uscc
		full   []byte               // the first refusal
		others []string
		n      int
	)
	deadline := time.Now().Add(3 * time.Minute)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				mu.Lock()
				if full != nil {
					mu.Unlock()
					return
				}
				n++
				i := n
				mu.Unlock()
				code, body := postJSON(c, s.URL+"/v1/orgs", orgBody(60, i))
				var org struct{ Seq int64 }
				mu.Lock()
				switch code {
				case 201:
					json.Unmarshal(body, &org)
					acked[org.Seq] = testUSCC(60, i)
				case 503:
					if full == nil {
						full = body
					}
				default:
					others = append(others, fmt.Sprintf("%d %s", code, body))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("writes on a filling disk answered other than 201 or 503: %s", others[0])
	}
	if full == nil {
		t.Fatalf("the disk never reached the reserve: %d records acknowledged, %d MiB free", len(acked), freeBytes(t, dir)>>20)
	}
	if !strings.Contains(string(full), "disk is nearly full") {
		t.Fatalf("the refusal does not say why: %s", full)
	}
	t.Logf("%d records acknowledged before the reserve; %d MiB free; refused with %s", len(acked), freeBytes(t, dir)>>20, full)

	// Under the reserve: writes refused saying why, readyz fails, reads go on.
	size := treeSize(t, s.URL)
	for i := 0; i < 3; i++ {
		resp := s.do("POST", "/v1/orgs", adminKey, "application/json", jsonBody(orgBody(77, i)))
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(data), "disk is nearly full") || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a write under the reserve: %s %s", resp.Status, data)
		}
	}
	resp := s.do("GET", "/readyz", "", "", nil)
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(data), "disk is nearly full") {
		t.Fatalf("/readyz under the reserve: %s %s", resp.Status, data)
	}
	if code := call(t, c, "GET", s.URL+"/v1/orgs/"+testUSCC(60, 1), adminKey, nil, nil); code != 200 {
		t.Fatalf("reading an org under the reserve: %d", code)
	}
	records(t, s.URL, 0, size) // every record reads back
	if got := treeSize(t, s.URL); got != size {
		t.Fatalf("refused writes were recorded: size %d -> %d", size, got)
	}
	upload := s.do("POST", "/v1/attachments", adminKey, "text/csv", strings.NewReader("time,temperature_c\n2026-11-01T00:00:00Z,-18\n"))
	upload.Body.Close()
	if upload.StatusCode != 503 {
		t.Fatalf("an upload under the reserve: %s", upload.Status)
	}
	select {
	case <-s.exited:
		t.Fatalf("the server died on the full disk: %s", s.stderr)
	default:
	}

	// Space returns: writing resumes by itself.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code := call(t, c, "GET", s.URL+"/readyz", "", nil, nil); code != 200 {
		t.Fatalf("/readyz after space returned: %d", code)
	}
	for i := 0; i < 3; i++ {
		var org struct{ Seq int64 }
		if code := call(t, c, "POST", s.URL+"/v1/orgs", adminKey, orgBody(78, i), &org); code != 201 {
			t.Fatalf("a write after space returned: %d", code)
		}
		acked[org.Seq] = testUSCC(78, i)
	}

	// Every acknowledged record is there after a restart; verify passes.
	s.stop()
	s2 := startServerArgs(t, dir, []string{"--min-free", strconv.Itoa(reserveMiB << 20)})
	got := treeSize(t, s2.URL)
	recs := records(t, s2.URL, 0, got)
	for seq, uscc := range acked {
		if seq >= got {
			t.Fatalf("acknowledged record %d is gone: %d records after restart", seq, got)
		}
		var r struct {
			Kind string `json:"kind"`
			USCC string `json:"uscc"`
		}
		if err := json.Unmarshal(recs[seq], &r); err != nil || r.Kind != "org_registered" || (uscc != "" && r.USCC != uscc) {
			t.Fatalf("acknowledged record %d is %s", seq, recs[seq])
		}
	}
	s2.stop()
	if out, code := runCLI(t, "verify", "--data", dir); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("verify after the full disk: exit %d\n%s", code, out)
	}
}

// writeFiller writes a file of n bytes of real blocks (not a sparse file).
func writeFiller(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xa5}, 1<<20)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := f.Write(chunk[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// postJSON posts v with the admin key and returns the status and body
// (status 0 when the request failed).
func postJSON(c *http.Client, url string, v any) (int, []byte) {
	req, _ := http.NewRequest("POST", url, jsonBody(v))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
