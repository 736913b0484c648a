package ledger

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCentreImportsNoAdapter keeps the centre clean: ledger may import only
// the standard library, golang.org/x/..., github.com/google/uuid and its
// leaf packages (coldtrace/ledger/...).
func TestCentreImportsNoAdapter(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed nothing: the check would pass vacuously")
	}
	for _, d := range deps {
		switch {
		case d == "coldtrace/ledger", strings.HasPrefix(d, "coldtrace/ledger/"),
			strings.HasPrefix(d, "golang.org/x/"),
			d == "github.com/google/uuid":
		default:
			t.Errorf("ledger depends on %s; the centre may import only std, golang.org/x/..., google/uuid and its leaves", d)
		}
	}
}

// TestLeavesImportNoOther keeps the leaf packages leaves: they know nothing
// of lots, so they import the standard library, golang.org/x/... and each
// other, never the centre or an adapter.
func TestLeavesImportNoOther(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	leaves := strings.Fields(string(out))[1:] // after coldtrace/ledger itself
	if len(leaves) == 0 {
		t.Fatal("no leaf package under ledger/")
	}
	for _, leaf := range leaves {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", leaf).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", leaf, err)
		}
		for _, d := range strings.Fields(string(out)) {
			if !strings.HasPrefix(d, "golang.org/x/") && !strings.HasPrefix(d, "coldtrace/ledger/") {
				t.Errorf("%s depends on %s; a leaf may import only std, golang.org/x/... and other leaves", leaf, d)
			}
		}
	}
}

// ours lists, for each package of the module (by path prefix, longest
// first), the packages of ours its production code may import. This is the
// whole intended picture:
//
//	cmd -> api -> ledger <- storage/*
//	               |
//	               v
//	        leaves: fault, ident, vlog, epcis, blob, input, kv, delivery
//
// The leaves know nothing of lots: fault, ident and epcis import nothing of
// ours, vlog, blob and kv only the error kinds, input the error kinds and
// the identifiers, delivery the error kinds and the store contract. api never imports storage/* (the server
// is given a ledger, whatever it stores in); fixtures, the test world, may
// open real storage; memory (the budget's split) imports nothing of ours.
var ours = []struct {
	pkg   string
	may   []string
	never string // why, for the failure message
}{
	{"coldtrace/ledger/fault", nil, "a leaf imports nothing of ours"},
	{"coldtrace/ledger/ident", nil, "a leaf imports nothing of ours"},
	{"coldtrace/ledger/epcis", nil, "a leaf imports nothing of ours"},
	{"coldtrace/ledger/vlog", []string{"coldtrace/ledger/fault"}, "the log knows only the error kinds"},
	{"coldtrace/ledger/kv", []string{"coldtrace/ledger/fault"}, "the store contract knows only the error kinds"},
	{"coldtrace/ledger/blob", []string{"coldtrace/ledger/fault"}, "attachment bytes know only the error kinds"},
	{"coldtrace/ledger/delivery", []string{"coldtrace/ledger/fault", "coldtrace/ledger/kv"}, "the delivery queues know only the error kinds and the store contract"},
	{"coldtrace/ledger/input", []string{"coldtrace/ledger/fault", "coldtrace/ledger/ident"}, "input checks know only the error kinds and the identifiers"},
	{"coldtrace/ledger", []string{"coldtrace/ledger/"}, "the centre imports only its leaves"},
	{"coldtrace/storage/", []string{"coldtrace/ledger"}, "adapters implement the ledger's interfaces and know nothing else"},
	{"coldtrace/api/report", []string{"coldtrace/ledger"}, "report files are made from ledger answers"},
	{"coldtrace/api", []string{"coldtrace/ledger", "coldtrace/api/"}, "api serves a ledger and never opens storage"},
	{"coldtrace/fixtures", []string{"coldtrace/ledger", "coldtrace/storage/"}, "fixtures build test ledgers on real storage"},
	{"coldtrace/cmd/coldtrace/memory", nil, "the memory budget is arithmetic: cmd hands its parts out"},
	{"coldtrace/cmd/", []string{"coldtrace/"}, "cmd wires everything"},
}

// TestImportPicture checks every package's production imports against ours:
// a package of the module outside the table, or an import of ours the
// table does not allow, fails.
func TestImportPicture(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "coldtrace/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 10 {
		t.Fatalf("go list named %d packages: the check would pass vacuously", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		rule := -1
		for i, r := range ours {
			if pkg == r.pkg || strings.HasPrefix(pkg, r.pkg) && (strings.HasSuffix(r.pkg, "/") || strings.HasPrefix(pkg, r.pkg+"/")) {
				rule = i
				break
			}
		}
		if rule < 0 {
			t.Errorf("package %s is not in the import picture (deps_test.go): place it", pkg)
			continue
		}
		for _, imp := range imports {
			if !strings.HasPrefix(imp, "coldtrace/") {
				continue
			}
			ok := false
			for _, m := range ours[rule].may {
				if imp == m || strings.HasPrefix(imp, strings.TrimSuffix(m, "/")+"/") {
					ok = true
				}
			}
			if !ok {
				t.Errorf("%s imports %s: %s", pkg, imp, ours[rule].never)
			}
		}
	}
}

// TestPackageDocIsAMap keeps the package doc's map of rooms in step with
// the files: every non-test file of the package is placed in a room.
func TestPackageDocIsAMap(t *testing.T) {
	doc, err := os.ReadFile("ledger.go")
	if err != nil {
		t.Fatal(err)
	}
	doc = doc[:bytes.Index(doc, []byte("\npackage ledger"))]
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) < 10 {
		t.Fatalf("%d files: %v", len(files), err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") && !bytes.Contains(doc, []byte(f)) {
			t.Errorf("the package doc (ledger.go) places %s in no room", f)
		}
	}
}
