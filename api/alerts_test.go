package api_test

import (
	"strings"
	"testing"
	"time"

	"coldtrace/ledger"
)

type findingList struct {
	Findings []struct {
		ledger.Finding
	} `json:"findings"`
}

func (w *demoWorld) findings(name, query string) findingList {
	w.h.t.Helper()
	var fl findingList
	w.key(name).do("GET", "/v1/findings?"+query, nil).want(200).JSON(&fl)
	return fl
}

// TestPositiveOpensTheBatchOverHTTP: the demo's shrimp tests positive in
// Henan while most of its batch lies in Guangdong. The Henan regulator sees
// the whole family and its recall; Guangdong gets its own positive_batch
// finding naming what lies there; Shanghai, which never held any of it,
// sees nothing.
func TestPositiveOpensTheBatchOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	root := w.demo.Positive

	// Henan found it: the root lot in Guangdong and the full recall.
	w.lot("hn-regulator", root)
	var rc struct {
		Lots     []struct{ ID, Region string } `json:"lots"`
		ByRegion map[string]any                `json:"by_region"`
		Scope    struct {
			HiddenLots int `json:"hidden_lots"`
		} `json:"scope"`
	}
	w.key("hn-regulator").do("GET", "/v1/lots/"+root+"/recall", nil).want(200).JSON(&rc)
	if rc.Scope.HiddenLots != 0 || len(rc.Lots) != 5 {
		t.Fatalf("Henan's recall: %d lots, %d hidden; want the 5 lots of the family, none hidden", len(rc.Lots), rc.Scope.HiddenLots)
	}
	var gd, hn bool
	for r := range rc.ByRegion {
		gd = gd || strings.HasPrefix(r, "44")
		hn = hn || strings.HasPrefix(r, "41")
	}
	if !gd || !hn {
		t.Errorf("Henan's recall by region lacks Guangdong or Henan: %v", rc.ByRegion)
	}
	// Guangdong, whose regions hold most of it, sees it in full too.
	w.key("gd-regulator").do("GET", "/v1/lots/"+root+"/recall", nil).want(200).JSON(&rc)
	if rc.Scope.HiddenLots != 0 || len(rc.Lots) != 5 {
		t.Errorf("Guangdong's recall: %d lots, %d hidden", len(rc.Lots), rc.Scope.HiddenLots)
	}

	// Each region holding goods has its own positive_batch finding.
	var grams int64
	regions := map[string]bool{}
	for _, name := range []string{"gd-regulator", "hn-regulator"} {
		fl := w.findings(name, "rule=positive_batch&open=true")
		if len(fl.Findings) == 0 {
			t.Fatalf("%s has no positive_batch finding", name)
		}
		for _, f := range fl.Findings {
			if regions[f.Region] {
				t.Errorf("region %s has two positive_batch findings", f.Region)
			}
			regions[f.Region] = true
			if len(f.Lots) == 0 || !strings.Contains(f.Detail, "since") {
				t.Errorf("finding %s names no lots: %+v", f.ID, f.Finding)
			}
			for _, x := range f.Lots {
				if x.Holder == "" || x.Site == "" || x.Since == nil {
					t.Errorf("finding %s: lot %s lacks holder, site or since: %+v", f.ID, x.TraceCode, x)
				}
				if strings.HasPrefix(f.Region, "44") {
					grams += x.OnHand + x.InTransit
				}
			}
		}
	}
	if grams != 11_500_000 {
		t.Errorf("Guangdong's positive_batch findings name %d g; the demo has 11.5 t of the batch there", grams)
	}

	// The demo's positive was found an hour and a half ago and nobody
	// acknowledged it: critical, due within the 2 hours after it, not yet
	// overdue.
	var wl struct {
		Findings []struct {
			Severity string     `json:"severity"`
			Overdue  bool       `json:"overdue"`
			Due      *time.Time `json:"due"`
		} `json:"findings"`
	}
	w.key("gd-regulator").do("GET", "/v1/findings?rule=positive_batch&open=true", nil).want(200).JSON(&wl)
	for _, f := range wl.Findings {
		if f.Severity != "critical" || f.Overdue || f.Due == nil || !f.Due.After(time.Now()) || f.Due.After(time.Now().Add(time.Hour)) {
			t.Errorf("an unacknowledged positive_batch finding of 90 minutes ago is %+v", f)
		}
	}

	// Shanghai never held any of it: no finding, no lot, no recall.
	if fl := w.findings("sh-regulator", "rule=positive_batch"); len(fl.Findings) != 0 {
		t.Errorf("Shanghai sees %d positive_batch findings", len(fl.Findings))
	}
	w.key("sh-regulator").do("GET", "/v1/lots/"+root, nil).wantProblem(403, "forbidden", "")
	w.key("sh-regulator").do("GET", "/v1/lots/"+root+"/recall", nil).wantProblem(403, "forbidden", "")
	// An operator of the family still sees only its own.
	w.key("sz-supermarket").do("GET", "/v1/lots/"+root, nil).wantProblem(403, "forbidden", "")

	// Guangdong's regulator may close its own finding, Shanghai may not.
	var id string
	for _, f := range w.findings("gd-regulator", "rule=positive_batch&open=true").Findings {
		id = f.ID
	}
	w.key("sh-regulator").do("POST", "/v1/events", map[string]any{"kind": "finding_closed", "finding": id, "reason": "not ours"}).wantProblem(403, "forbidden", "")
	w.event("gd-regulator", map[string]any{"kind": "finding_closed", "finding": id, "reason": "sealed and listed"})
}
