package ledger

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCentreImportsNoAdapter keeps the centre clean: ledger may import only
// the standard library, golang.org/x/... and github.com/google/uuid.
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
		case d == "coldtrace/ledger",
			strings.HasPrefix(d, "golang.org/x/"),
			d == "github.com/google/uuid":
		default:
			t.Errorf("ledger depends on %s; the centre may import only std, golang.org/x/... and google/uuid", d)
		}
	}
}
