package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"coldtrace/fixtures"
)

// importFile writes n declared lines (line bad, if not 0, with a field no
// event has) and returns the file and each line's declaration number.
func importFile(t testing.TB, dir string, n, bad int) (string, []string) {
	t.Helper()
	var b bytes.Buffer
	decls := make([]string, n+1)
	for i := 1; i <= n; i++ {
		decls[i] = fixtures.DeclarationNo("5316", 2026, 500_000+i)
		extra := ""
		if i == bad {
			extra = `,"colour":"red"`
		}
		fmt.Fprintf(&b, `{"kind":"declared","at":"2026-11-20T08:00:00Z","site":"SZ-SK-PORT","product":{"name":"冷冻带鱼","hs_code":"0303890090","category":"frozen","origin_country":"NO"},"declaration_no":%q,"containers":[{"number":%q}],"quantity":{"grams":1000000}%s}`+"\n",
			decls[i], fixtures.Container("IMP", i), extra)
	}
	path := filepath.Join(dir, "events.ndjson")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, decls
}

var importSummary = regexp.MustCompile(`(\d+) lines, (\d+) recorded, (\d+) replayed \(recorded before\), (\d+) refused`)

// importCounts parses the summary line of `coldtrace import`.
func importCounts(t *testing.T, out string) (lines, recorded, replayed, refused int) {
	t.Helper()
	m := importSummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in the import's output:\n%s", out)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return n(m[1]), n(m[2]), n(m[3]), n(m[4])
}

// TestImportResumesAfterKill9 imports a file of declarations into the demo
// ledger, kills the import with SIGKILL once its first groups are durable,
// imports the same file again, and checks that every line is in the log
// exactly once, that the line with an unknown field was refused by number
// and field and recorded nowhere, that a third run records nothing, and
// that verify passes.
func TestImportResumesAfterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dir := t.TempDir()
	if out, code := runCLIEnv(t, []string{"COLDTRACE_ADMIN_KEY=" + adminKey}, "seed", "--data", dir); code != 0 {
		t.Fatalf("seed: exit %d\n%s", code, out)
	}
	key := readDemo(t, dir).keys["sz-importer"]
	const n, bad = 3000, 777
	file, decls := importFile(t, t.TempDir(), n, bad)
	args := []string{"import", "--data", dir, "--key", key, "--group", "100", file}

	// The first run: killed once a progress line says groups are durable.
	cmd := exec.Command(binPath, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := 0
	progress := regexp.MustCompile(`^import: (\d+) lines done`)
	sc := bufio.NewScanner(stderr)
	for done == 0 && sc.Scan() {
		if m := progress.FindStringSubmatch(sc.Text()); m != nil {
			done, _ = strconv.Atoi(m[1])
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	state, _ := cmd.Process.Wait()
	if done == 0 || state.Success() {
		t.Fatalf("the import was not killed midway (progress %d, %v)", done, state)
	}

	// The second run records the rest and replays what the first made durable.
	out, code := runCLI(t, args...)
	lines, recorded, replayed, refused := importCounts(t, out)
	if code == 0 || !strings.Contains(out, fmt.Sprintf("line %d:", bad)) || !strings.Contains(out, "colour") {
		t.Fatalf("the bad line was not refused by number and field (exit %d):\n%s", code, out)
	}
	if lines != n || refused != 1 || replayed < done-1 || recorded == 0 || recorded+replayed != n-1 {
		t.Fatalf("after the kill at %d lines: %d lines, %d recorded, %d replayed, %d refused\n%s", done, lines, recorded, replayed, refused, out)
	}
	t.Logf("killed after %d lines durable; the second run recorded %d and replayed %d", done, recorded, replayed)

	// A third run finds everything recorded.
	out, _ = runCLI(t, args...)
	if _, recorded, replayed, refused := importCounts(t, out); recorded != 0 || replayed != n-1 || refused != 1 {
		t.Fatalf("the third run: %d recorded, %d replayed, %d refused\n%s", recorded, replayed, refused, out)
	}

	// Every line once in the log, the bad one nowhere.
	s := startServer(t, dir)
	recs := records(t, s.URL, 0, treeSize(t, s.URL))
	s.stop()
	seen := map[string]int{}
	for _, r := range recs {
		if i := bytes.Index(r, []byte(`"declaration_no":"`)); i >= 0 {
			no := r[i+len(`"declaration_no":"`):]
			seen[string(no[:bytes.IndexByte(no, '"')])]++
		}
	}
	for i := 1; i <= n; i++ {
		if want := map[bool]int{true: 0, false: 1}[i == bad]; seen[decls[i]] != want {
			t.Fatalf("line %d (%s) is in the log %d times, want %d", i, decls[i], seen[decls[i]], want)
		}
	}
	if out, code := runCLI(t, "verify", "--data", dir); code != 0 || !strings.HasPrefix(out, "ok:") {
		t.Fatalf("verify after the import: exit %d\n%s", code, out)
	}
}
