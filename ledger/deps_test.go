package ledger

import (
	"os/exec"
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
