package ledger

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// allowedCells is the authority matrix as the issue and DESIGN.md state it,
// written independently of the grants table: per kind, the cells
// "role/standing" that may record it. Role * is any operator (not admin,
// auditor or regulator); standing - is any standing.
var allowedCells = map[EventKind][]string{
	Declared:            {"importer/-"},
	DocumentsAdded:      {"importer/importer"},
	Tested:              {"lab/-"},
	Disinfected:         {"disinfector/-", "*/holder"},
	Released:            {"supervision_warehouse/-"},
	Shipped:             {"*/holder"},
	Received:            {"*/receiver"},
	Transformed:         {"processor/holder"},
	Sold:                {"*/holder"},
	Consumed:            {"*/holder"},
	Destroyed:           {"*/holder"},
	Sealed:              {"regulator/jurisdiction"},
	Unsealed:            {"regulator/jurisdiction"},
	TemperatureRecorded: {"*/holder", "*/carrier"},
	SiteTested:          {"lab/-"},
	SiteDisinfected:     {"disinfector/-", "*/site_org"},
	Voided:              {"*/recorder", "regulator/jurisdiction"},
	FindingClosed:       {"regulator/jurisdiction"},
	FindingAcknowledged: {"regulator/jurisdiction"},
	// Scheduled worker tests at a site's high-risk posts.
	WorkerTestsScheduled: {"*/site_org", "regulator/jurisdiction"},
	FindingAssigned:      {"regulator/jurisdiction"},
	NoticeIssued:         {"regulator/jurisdiction"},
	EPCISCaptured:        {"*/-", "regulator/-"},
}

var cellStandings = map[string]standing{
	"none": 0, "holder": asHolder, "receiver": asReceiver, "carrier": asCarrier, "custodian": asCustodian,
	"importer": asImporter, "site_org": asSiteOrg, "recorder": asRecorder, "jurisdiction": inJurisdiction,
}

func expectAllowed(kind EventKind, role, standingName string) bool {
	for _, c := range allowedCells[kind] {
		r, s, _ := strings.Cut(c, "/")
		roleOK := r == role || (r == "*" && role != RoleAdmin && role != RoleAuditor && role != RoleRegulator)
		if roleOK && (s == "-" || s == standingName) {
			return true
		}
	}
	return false
}

// TestAuthorityMatrix checks every cell of role × event kind × standing
// (what the key's org is to the lot, and for regulators whether the goods
// lie in its regions) against the matrix above.
func TestAuthorityMatrix(t *testing.T) {
	roles := append([]string{RoleAdmin}, OrgRoles...)
	if len(allowedCells) != len(LotEventKinds()) {
		t.Fatalf("the matrix has %d kinds, the ledger %d", len(allowedCells), len(LotEventKinds()))
	}
	cells, wrong := 0, []string{}
	for _, kind := range LotEventKinds() {
		for _, role := range roles {
			for name, s := range cellStandings {
				cells++
				got := allowed(kind, role, s)
				if want := expectAllowed(kind, role, name); got != want {
					wrong = append(wrong, fmt.Sprintf("%s by %s as %s: allowed %v, want %v", kind, role, name, got, want))
				}
				// The gate lets through exactly the roles that some standing allows.
				ever := false
				for n := range cellStandings {
					ever = ever || expectAllowed(kind, role, n)
				}
				if err := gate(kind, Principal{Role: role, Org: "x"}); (err == nil) != ever {
					wrong = append(wrong, fmt.Sprintf("gate %s by %s: %v, want allowed %v", kind, role, err, ever))
				}
			}
		}
	}
	if len(wrong) > 0 {
		slices.Sort(wrong)
		wrong = slices.Compact(wrong)
		t.Fatalf("%d of %d cells are wrong:\n%s", len(wrong), cells, strings.Join(wrong, "\n"))
	}
}

// TestAuthorityDocs checks that docs/authority.md shows the grants and
// document rules the code enforces.
func TestAuthorityDocs(t *testing.T) {
	data, err := os.ReadFile("../docs/authority.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, kind := range LotEventKinds() {
		if row := fmt.Sprintf("| `%s` | %s |", kind, who(kind)); !strings.Contains(doc, row) {
			t.Errorf("docs/authority.md lacks the row %q", row)
		}
	}
	for _, typ := range DocumentTypes {
		if row := fmt.Sprintf("| `%s` | %s |", typ, DocumentRules[typ].describe()); !strings.Contains(doc, row) {
			t.Errorf("docs/authority.md lacks the row %q", row)
		}
	}
}

func TestCoveringPrefixAndLiftsSeal(t *testing.T) {
	zj := Principal{Role: RoleRegulator, Regions: []string{"31", "33"}}
	if got := coveringPrefix(zj, []string{"330105"}); got != "33" {
		t.Errorf("covering prefix %q", got)
	}
	if got := coveringPrefix(zj, []string{"440305"}); got != "" {
		t.Errorf("covering prefix outside: %q", got)
	}
	hz := Principal{Role: RoleRegulator, Regions: []string{"3301"}}
	for _, c := range []struct {
		p    Principal
		seal string
		want bool
	}{
		{zj, "33", true}, {zj, "3301", true}, {hz, "3301", true}, {hz, "33", false}, {hz, "3302", false},
		{Principal{Role: RoleRegulator, Regions: []string{"44"}}, "33", false}, {hz, "", true},
	} {
		if got := liftsSeal(c.p, c.seal); got != c.want {
			t.Errorf("%v lifts a seal of %q: %v, want %v", c.p.Regions, c.seal, got, c.want)
		}
	}
}
