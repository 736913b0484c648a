package epcis

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLeafImportsNothingOfColdtrace keeps ledger/epcis a leaf: the standard
// library and golang.org/x/... only.
func TestLeafImportsNothingOfColdtrace(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed nothing: the check would pass vacuously")
	}
	for _, d := range deps {
		if d != "coldtrace/ledger/epcis" && !strings.HasPrefix(d, "golang.org/x/") {
			t.Errorf("ledger/epcis depends on %s; it may import only std and golang.org/x/...", d)
		}
	}
}
