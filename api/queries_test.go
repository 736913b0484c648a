package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"coldtrace/api"
	"coldtrace/api/report"
	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// queryWorld is a generated ledger behind the real API, with its replayed
// model.
type queryWorld struct {
	h      *harness
	gen    *fixtures.Generated
	m      *model
	actors map[string]*client // actor name -> client
	regs   map[string]fixtures.Actor
}

// genLots sizes the generated ledger of the query tests: every lot of it is
// checked against the model, so it is kept moderate.
const genLots = 120

func newQueryWorld(t *testing.T) *queryWorld {
	t.Helper()
	h := newHarness(t, api.Options{})
	admin, err := h.l.Authenticate(t.Context(), adminSecret)
	if err != nil {
		t.Fatal(err)
	}
	g, err := fixtures.Generate(context.Background(), h.l, admin, fixtures.Options{Lots: genLots, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	w := &queryWorld{h: h, gen: g, m: replayLog(t, h.srv.URL), actors: map[string]*client{}, regs: map[string]fixtures.Actor{}}
	for _, a := range g.Actors {
		w.actors[a.Name] = h.client(a.Secret)
		if a.Principal.Role == ledger.RoleRegulator {
			w.regs[a.Name] = a
		}
	}
	// Open findings are derived by the ledger's rules; the model takes them
	// from the findings API.
	w.m.findings = map[string]int{}
	for cursor := ""; ; {
		var page struct {
			Findings []struct {
				Lot  string
				Open bool
			}
			NextCursor string `json:"next_cursor"`
		}
		h.admin.do("GET", "/v1/findings?open=true&limit=1000&cursor="+url.QueryEscape(cursor), nil).want(200).JSON(&page)
		for _, f := range page.Findings {
			if f.Lot != "" {
				w.m.findings[f.Lot]++
			}
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(w.m.lots) < 3*genLots {
		t.Fatalf("the generated ledger has only %d lots", len(w.m.lots))
	}
	return w
}

type traceLotA struct {
	ID         string
	TraceCode  string `json:"trace_code"`
	Hidden     bool
	Depth      int
	Parents    []string
	Children   []string
	Quantity   *map[string]int64
	Custody    []mStay
	CreatedBy  string `json:"created_by"`
	CreatedSeq int64  `json:"created_seq"`
}

type traceAnswer struct {
	Root, Lot, Direction string
	Truncated            bool
	Hidden               int
	Lots                 []traceLotA
	Edges                []mEdge
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	slices.Sort(out)
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %d %v, want %d %v", what, len(got), got, len(want), want)
	}
}

func edgeKey(e mEdge) string {
	return e.From + ">" + e.To + ":" + e.Kind + ":" + strconv.FormatInt(e.Seq, 10)
}

func (m *model) edgesWithin(lots []*mLot) []string {
	in := map[string]bool{}
	for _, l := range lots {
		in[l.ID] = true
	}
	var out []string
	for _, e := range m.edges {
		if in[e.From] && in[e.To] {
			out = append(out, edgeKey(e))
		}
	}
	return out
}

func sameStays(t *testing.T, what string, got, want []mStay) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d stays, want %d: %+v vs %+v", what, len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Org != w.Org || g.Site != w.Site || g.Region != w.Region || !g.From.Equal(w.From) || (g.To == nil) != (w.To == nil) || (g.To != nil && !g.To.Equal(*w.To)) {
			t.Fatalf("%s: stay %d is %+v, want %+v", what, i, g, w)
		}
	}
}

// TestQueriesMatchReplay checks trace, recall and closure of every lot of a
// generated ledger, and the closure report, against the model rebuilt from
// the public log.
func TestQueriesMatchReplay(t *testing.T) {
	w := newQueryWorld(t)
	m, admin := w.m, w.h.admin
	for _, k := range []string{"shipped", "received", "transformed", "sold", "tested"} {
		if m.kinds[k] == 0 {
			t.Fatalf("the generated ledger has no %s record", k)
		}
	}
	edgesSeen := map[string]bool{}
	for _, id := range m.order {
		l := m.lots[id]
		// Trace down, by trace code as a person types it.
		var tr traceAnswer
		admin.do("GET", "/v1/lots/"+strings.ToLower(l.Code)+"/trace?direction=down", nil).want(200).JSON(&tr)
		down := m.descendants(l)
		sameSet(t, "trace down of "+l.Code, ids(tr.Lots, func(x traceLotA) string { return x.ID }), ids(down, func(x *mLot) string { return x.ID }))
		sameSet(t, "trace edges of "+l.Code, ids(tr.Edges, edgeKey), m.edgesWithin(down))
		for _, e := range tr.Edges {
			edgesSeen[edgeKey(e)] = true
		}
		for _, tl := range tr.Lots {
			ml := m.lots[tl.ID]
			if tl.Hidden || tl.Quantity == nil {
				t.Fatalf("admin trace hides lot %s", tl.ID)
			}
			q := *tl.Quantity
			if q["on_hand"] != ml.OnHand || q["in_transit"] != ml.InTransit || q["sold"] != ml.Sold || q["declared"] != ml.Declared ||
				q["lost"] != ml.Lost || q["split"] != ml.Split || q["transformed"] != ml.Transformed {
				t.Fatalf("trace quantity of %s: %v, model %+v", tl.ID, q, ml)
			}
			if tl.CreatedBy != ml.CreatedBy || tl.CreatedSeq != ml.CreatedSeq {
				t.Fatalf("lot %s created by %s %d, model %s %d", tl.ID, tl.CreatedBy, tl.CreatedSeq, ml.CreatedBy, ml.CreatedSeq)
			}
			sameStays(t, "custody of "+tl.ID, tl.Custody, ml.Stays)
		}
		// Trace up, by lot id.
		admin.do("GET", "/v1/lots/"+l.ID+"/trace?direction=up", nil).want(200).JSON(&tr)
		up := m.ancestors(l)
		if len(tr.Lots) != len(up) || tr.Root != l.Root {
			t.Fatalf("trace up of %s: %d lots, root %s; want %d, %s", l.Code, len(tr.Lots), tr.Root, len(up), l.Root)
		}
		sameSet(t, "trace up edges of "+l.Code, ids(tr.Edges, edgeKey), m.edgesWithin(up))
		// Both: the ancestors and the descendants, with every edge between
		// two of them (also from an ancestor to a descendant), once each.
		admin.do("GET", "/v1/lots/"+l.ID+"/trace?direction=both", nil).want(200).JSON(&tr)
		both := append(slices.Clone(up), down...)
		slices.SortFunc(both, func(a, b *mLot) int { return strings.Compare(a.ID, b.ID) })
		both = slices.CompactFunc(both, func(a, b *mLot) bool { return a.ID == b.ID })
		sameSet(t, "trace both of "+l.Code, ids(tr.Lots, func(x traceLotA) string { return x.ID }), ids(both, func(x *mLot) string { return x.ID }))
		if want := m.edgesWithin(both); len(tr.Edges) != len(want) {
			t.Fatalf("trace both of %s: %d edges, want %d", l.Code, len(tr.Edges), len(want))
		}
		sameSet(t, "trace both edges of "+l.Code, ids(tr.Edges, edgeKey), m.edgesWithin(both))
		// Closure.
		var cl struct {
			Status     string
			Accounting map[string]any
			Reasons    []struct{ Kind, Lot string }
			Truncated  bool
		}
		admin.do("GET", "/v1/lots/"+l.ID+"/closure", nil).want(200).JSON(&cl)
		status, acc := m.closure(l)
		if cl.Status != status {
			t.Fatalf("closure of %s: %s, model %s (%v)", l.Code, cl.Status, status, acc)
		}
		for k, v := range acc {
			if got, _ := cl.Accounting[k].(float64); int64(got) != v {
				t.Fatalf("closure accounting of %s: %s = %v, model %d (%v)", l.Code, k, cl.Accounting[k], v, cl.Accounting)
			}
		}
		if cl.Accounting["balanced"] != true {
			t.Fatalf("closure of %s does not balance: %v", l.Code, cl.Accounting)
		}
		if acc["declared"]+acc["produced"] != acc["on_hand"]+acc["in_transit"]+acc["terminal"]+acc["processed"] {
			t.Fatalf("the model does not balance for %s: %v", l.Code, acc)
		}
	}
	if len(edgesSeen) != len(m.edges) {
		t.Fatalf("traces showed %d edges, the log has %d", len(edgesSeen), len(m.edges))
	}

	// Recall: every root, and a random sample of other lots.
	r := rand.New(rand.NewPCG(1, 2))
	var sample []*mLot
	for _, id := range m.order {
		l := m.lots[id]
		if l.CreatedBy == "declared" || r.IntN(10) == 0 {
			sample = append(sample, l)
		}
	}
	for _, l := range sample {
		checkRecall(t, w, l)
	}

	// The closure report of everything, as the admin.
	var rep struct {
		Totals   map[string]int64
		ByStatus map[string]map[string]int64 `json:"by_status"`
		Lots     []struct {
			Root, Status string
			Reasons      []struct{ Kind string }
		}
		Positive []struct {
			Root     string
			Progress float64
		}
	}
	admin.do("GET", "/v1/reports/closure", nil).want(200).JSON(&rep)
	want := map[string]int64{}
	statuses := map[string]int64{}
	for _, id := range m.order {
		l := m.lots[id]
		if l.CreatedBy != "declared" {
			continue
		}
		st, acc := m.closure(l)
		statuses[st]++
		want["batches"]++
		for _, k := range []string{"declared", "produced", "on_hand", "in_transit", "sold", "consumed", "destroyed", "returned", "lost", "processed", "lots"} {
			want[k] += acc[k]
		}
	}
	for k, v := range want {
		if rep.Totals[k] != v {
			t.Fatalf("report totals: %s = %d, model %d", k, rep.Totals[k], v)
		}
	}
	for st, n := range statuses {
		if rep.Totals[st] != n || rep.ByStatus[st]["batches"] != n {
			t.Fatalf("report: %d %s batches (by status %d), model %d", rep.Totals[st], st, rep.ByStatus[st]["batches"], n)
		}
	}
	if int64(len(rep.Lots)) != statuses["open"]+statuses["violation"] {
		t.Fatalf("report lists %d open or violating batches, model %d", len(rep.Lots), statuses["open"]+statuses["violation"])
	}
	for _, b := range rep.Lots {
		if st, _ := m.closure(m.lots[b.Root]); st != b.Status || len(b.Reasons) == 0 {
			t.Fatalf("report: batch %s %s with %d reasons, model %s", b.Root, b.Status, len(b.Reasons), st)
		}
	}
	if statuses["closed"] == 0 || statuses["open"]+statuses["violation"] == 0 {
		t.Fatalf("the generated ledger should have closed and unclosed batches: %v", statuses)
	}
}

type recallLotA struct {
	ID, Holder, Site, Region  string
	OnHand                    int64 `json:"on_hand"`
	InTransit                 int64 `json:"in_transit"`
	Sold, Consumed, Destroyed int64
	Lost                      int64
	Outflows                  []struct {
		Site, Org                 string
		Sold, Consumed, Destroyed int64
		Returned, Lost            int64
	}
}

type recallAnswer struct {
	Root  string
	Roots []string
	Lots  []recallLotA
	Sites []struct {
		ID, Org, Region string
		From            time.Time
		To              *time.Time
		Lots            []string
	}
	Vehicles []struct {
		Plate string
		From  time.Time
		To    *time.Time
		Lots  []string
	}
	ByRegion map[string]struct {
		Province string
		Lots     []string
		Sites    []string
		OnHand   int64 `json:"on_hand"`
	} `json:"by_region"`
	Contacts []struct{ Lot, Site string }
	Scope    struct {
		Role       string
		HiddenLots int `json:"hidden_lots"`
	}
	Truncated bool
}

func checkRecall(t *testing.T, w *queryWorld, l *mLot) {
	t.Helper()
	var rc recallAnswer
	w.h.admin.do("GET", "/v1/lots/"+l.Code+"/recall", nil).want(200).JSON(&rc)
	fam := w.m.family(l.Roots)
	sameSet(t, "recall lots of "+l.Code, ids(rc.Lots, func(x recallLotA) string { return x.ID }), ids(fam, func(x *mLot) string { return x.ID }))
	type window struct {
		from time.Time
		to   *time.Time
		lots []string
	}
	sites, plates := map[string]*window{}, map[string]*window{}
	widen := func(m map[string]*window, k string, from time.Time, to *time.Time, lot string) {
		x := m[k]
		if x == nil {
			x = &window{from: from, to: to}
			m[k] = x
		}
		if from.Before(x.from) {
			x.from = from
		}
		if x.to != nil && (to == nil || to.After(*x.to)) {
			x.to = to
		}
		if !slices.Contains(x.lots, lot) {
			x.lots = append(x.lots, lot)
		}
	}
	for _, f := range fam {
		for _, s := range f.Stays {
			widen(sites, s.Site, s.From, s.To, f.ID)
		}
		for _, v := range f.Vehicles {
			widen(plates, v.Plate, v.From, v.To, f.ID)
		}
	}
	for _, rl := range rc.Lots {
		ml := w.m.lots[rl.ID]
		if rl.OnHand != ml.OnHand || rl.InTransit != ml.InTransit || rl.Sold != ml.Sold || rl.Consumed != ml.Consumed || rl.Lost != ml.Lost ||
			rl.Holder != ml.Holder || rl.Site != ml.Site {
			t.Fatalf("recall of %s: lot %+v, model %+v", l.Code, rl, ml)
		}
		if len(rl.Outflows) != len(ml.Out) {
			t.Fatalf("recall of %s: lot %s has outflows %+v, model %v", l.Code, rl.ID, rl.Outflows, ml.Out)
		}
		for _, o := range rl.Outflows {
			mo := ml.Out[o.Site+"|"+o.Org]
			if mo == nil || mo.Sold != o.Sold || mo.Consumed != o.Consumed || mo.Destroyed != o.Destroyed || mo.Returned != o.Returned || mo.Lost != o.Lost {
				t.Fatalf("recall of %s: lot %s outflow %+v, model %+v", l.Code, rl.ID, o, mo)
			}
		}
	}
	if len(rc.Sites) != len(sites) || len(rc.Vehicles) != len(plates) {
		t.Fatalf("recall of %s: %d sites, %d vehicles; model %d, %d", l.Code, len(rc.Sites), len(rc.Vehicles), len(sites), len(plates))
	}
	for _, s := range rc.Sites {
		x := sites[s.ID]
		if x == nil || !s.From.Equal(x.from) || (s.To == nil) != (x.to == nil) || (s.To != nil && !s.To.Equal(*x.to)) || s.Region != w.m.sites[s.ID][1] {
			t.Fatalf("recall of %s: site %+v, model %+v", l.Code, s, x)
		}
		sameSet(t, "lots at "+s.ID, s.Lots, x.lots)
		if rp, ok := rc.ByRegion[s.Region]; !ok || !slices.Contains(rp.Sites, s.ID) || rp.Province != s.Region[:2]+"0000" {
			t.Fatalf("recall of %s: region %s does not list site %s: %+v", l.Code, s.Region, s.ID, rp)
		}
	}
	for _, v := range rc.Vehicles {
		x := plates[v.Plate]
		if x == nil || !v.From.Equal(x.from) || (v.To == nil) != (x.to == nil) || (v.To != nil && !v.To.Equal(*x.to)) {
			t.Fatalf("recall of %s: vehicle %+v, model %+v", l.Code, v, x)
		}
	}
	// Contacts: lots outside the family that overlapped a family stay at
	// the same site.
	inFam := map[string]bool{}
	for _, f := range fam {
		inFam[f.ID] = true
	}
	var want []string
	for _, id := range w.m.order {
		o := w.m.lots[id]
		if inFam[id] {
			continue
		}
		for _, s := range o.Stays {
			if slices.ContainsFunc(fam, func(f *mLot) bool {
				return slices.ContainsFunc(f.Stays, func(fs mStay) bool { return fs.Site == s.Site && overlaps(s, fs) })
			}) {
				want = append(want, id+"@"+s.Site)
			}
		}
	}
	got := ids(rc.Contacts, func(c struct{ Lot, Site string }) string { return c.Lot + "@" + c.Site })
	sameSet(t, "contacts of "+l.Code, got, want)
}

func overlaps(a, b mStay) bool {
	far := time.Unix(1<<40, 0)
	aTo, bTo := far, far
	if a.To != nil {
		aTo = *a.To
	}
	if b.To != nil {
		bTo = *b.To
	}
	return !a.From.After(bTo) && !aTo.Before(b.From)
}

// TestReportExports checks that the CSV parses back to the JSON numbers,
// that the XLSX has the same rows, and that the PDF renders with its
// Chinese headings (pdftoppm; the page is kept in testout/ to look at).
func TestReportExports(t *testing.T) {
	w := newQueryWorld(t)
	reg := w.actors["上海-regulator"]
	for _, c := range []*client{w.h.admin, reg} {
		var js struct {
			Totals map[string]int64
			Lots   []struct {
				TraceCode string `json:"trace_code"`
				Status    string
				OnHand    int64 `json:"on_hand"`
			}
		}
		c.do("GET", "/v1/reports/closure?from=2000-01-01&to=2100-01-01", nil).want(200).JSON(&js)
		resp := c.do("GET", "/v1/reports/closure?format=csv&from=2000-01-01&to=2100-01-01", nil).want(200)
		if !bytes.HasPrefix(resp.Body, []byte("\uFEFF")) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV without BOM or type: %q", resp.Body[:min(20, len(resp.Body))])
		}
		rows, err := csv.NewReader(bytes.NewReader(resp.Body[3:])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			zh, en, _ := strings.Cut(h, " ")
			if zh == "" || en == "" {
				t.Fatalf("heading %q is not 'chinese english'", h)
			}
			col[en] = i
		}
		if !slices.Equal(report.Headings(), slices.Collect(func(yield func(string) bool) {
			for _, h := range rows[0] {
				_, en, _ := strings.Cut(h, " ")
				if !yield(en) {
					return
				}
			}
		})) {
			t.Fatalf("CSV headings %v", rows[0])
		}
		sums := map[string]int64{}
		open := map[string]string{}
		for _, row := range rows[1:] {
			for _, k := range []string{"declared", "produced", "on_hand", "in_transit", "sold", "consumed", "destroyed", "returned", "lost", "processed", "lots", "open_findings"} {
				v, err := strconv.ParseInt(row[col[k]], 10, 64)
				if err != nil {
					t.Fatalf("CSV %s: %v", k, err)
				}
				sums[k] += v
			}
			sums[row[col["status"]]]++
			if st := row[col["status"]]; st != ledger.ClosureClosed {
				open[row[col["trace_code"]]] = st
				if row[col["reasons"]] == "" {
					t.Fatalf("CSV row of %s (%s) has no reasons", row[col["trace_code"]], st)
				}
			}
		}
		sums["batches"] = int64(len(rows) - 1)
		for k, v := range sums {
			if js.Totals[k] != v {
				t.Fatalf("CSV sums %s = %d, JSON totals %d", k, v, js.Totals[k])
			}
		}
		if len(open) != len(js.Lots) {
			t.Fatalf("CSV has %d open batches, JSON %d", len(open), len(js.Lots))
		}
		for _, b := range js.Lots {
			if open[b.TraceCode] != b.Status {
				t.Fatalf("batch %s is %s in JSON, %q in CSV", b.TraceCode, b.Status, open[b.TraceCode])
			}
		}

		// XLSX: the same rows, numbers as numbers.
		resp = c.do("GET", "/v1/reports/closure?format=xlsx&from=2000-01-01&to=2100-01-01", nil).want(200)
		f, err := excelize.OpenReader(bytes.NewReader(resp.Body))
		if err != nil {
			t.Fatal(err)
		}
		xrows, err := f.GetRows(report.SheetBatches)
		if err != nil {
			t.Fatal(err)
		}
		if len(xrows) != len(rows) {
			t.Fatalf("XLSX has %d rows, CSV %d", len(xrows), len(rows))
		}
		for i := range rows {
			for j := range rows[i] {
				x := ""
				if j < len(xrows[i]) {
					x = xrows[i][j]
				}
				if x != rows[i][j] {
					t.Fatalf("XLSX row %d col %d = %q, CSV %q", i, j, x, rows[i][j])
				}
			}
		}
		if typ, _ := f.GetCellType(report.SheetBatches, "K2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
			t.Fatalf("declared grams are not a number cell: %v", typ)
		}
		if sheets := f.GetSheetList(); !slices.Contains(sheets, report.SheetSummary) || !slices.Contains(sheets, report.SheetPositive) {
			t.Fatalf("sheets %v", sheets)
		}
		f.Close()
	}

	// PDF: renders, and the first page is kept for a person to look at.
	resp := w.h.admin.do("GET", "/v1/reports/closure?format=pdf", nil).want(200)
	if !bytes.HasPrefix(resp.Body, []byte("%PDF-")) || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("not a PDF: %q", resp.Body[:min(20, len(resp.Body))])
	}
	renderPDF(t, resp.Body, "closure-report")

	// Without the font, PDF is a clear 503 and the other formats still work.
	t.Setenv(report.FontEnv, filepath.Join(t.TempDir(), "missing.ttf"))
	h2 := newHarness(t, api.Options{})
	h2.admin.do("GET", "/v1/reports/closure?format=pdf", nil).wantProblem(503, "unavailable", "")
	h2.admin.do("GET", "/v1/reports/closure?format=csv", nil).want(200)
}

// renderPDF turns the first page of a PDF into a PNG with pdftoppm (Debian's
// poppler-utils), in testout/, and fails if it does not render.
func renderPDF(t *testing.T, pdf []byte, name string) {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftoppm (poppler-utils) is missing: make test installs it")
		}
		t.Skip("pdftoppm (poppler-utils) is not installed")
	}
	dir, err := filepath.Abs(filepath.Join("..", "testout"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(src, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", src, filepath.Join(dir, name)).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, name+"-*1.png"))
	if len(pngs) == 0 {
		t.Fatal("pdftoppm wrote no page")
	}
	if st, err := os.Stat(pngs[0]); err != nil || st.Size() < 10_000 {
		t.Fatalf("page image %s looks empty", pngs[0])
	}
	// The text layer holds the Chinese headings (pdftotext, same package).
	if _, err := exec.LookPath("pdftotext"); err == nil {
		txt, err := exec.Command("pdftotext", "-f", "1", "-l", "1", src, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"进口冷链食品闭环管理报告", "按闭环状态", "已闭环"} {
			if !strings.Contains(string(txt), want) {
				t.Fatalf("page 1 text lacks %q:\n%s", want, txt)
			}
		}
	}
}

// TestQueryScopes checks who sees what: regulators their regions, operators
// their own lots, and the problems of bad queries.
func TestQueryScopes(t *testing.T) {
	w := newQueryWorld(t)
	m := w.m
	// A batch that went to another province than its declaration's.
	var mover *mLot
	var regName string
	for _, id := range m.order {
		l := m.lots[id]
		if l.CreatedBy != "declared" {
			continue
		}
		fam := m.family(l.Roots)
		home := l.Stays[0].Region[:2]
		for _, f := range fam {
			for _, r := range f.regions() {
				if r[:2] != home {
					for name, a := range w.regs {
						if a.Principal.Regions[0] == home {
							mover, regName = l, name
						}
					}
				}
			}
		}
		if mover != nil {
			break
		}
	}
	if mover == nil {
		t.Fatal("no batch crossed a province")
	}
	reg := w.actors[regName]
	prefix := w.regs[regName].Principal.Regions[0]
	var rc recallAnswer
	reg.do("GET", "/v1/lots/"+mover.Code+"/recall", nil).want(200).JSON(&rc)
	if rc.Scope.Role != ledger.RoleRegulator || rc.Scope.HiddenLots == 0 {
		t.Fatalf("regulator recall scope %+v: the batch left the province, some lots should be hidden", rc.Scope)
	}
	for r := range rc.ByRegion {
		if !strings.HasPrefix(r, prefix) {
			t.Fatalf("regulator of %s sees region %s", prefix, r)
		}
	}
	for _, s := range rc.Sites {
		if !strings.HasPrefix(s.Region, prefix) {
			t.Fatalf("regulator of %s sees site %+v", prefix, s)
		}
	}
	var tr traceAnswer
	reg.do("GET", "/v1/lots/"+mover.Code+"/trace?direction=down", nil).want(200).JSON(&tr)
	if tr.Hidden == 0 || len(tr.Lots) != len(m.descendants(mover)) {
		t.Fatalf("regulator trace: %d hidden of %d", tr.Hidden, len(tr.Lots))
	}
	for _, l := range tr.Lots {
		if l.Hidden != !slices.ContainsFunc(m.lots[l.ID].regions(), func(r string) bool { return strings.HasPrefix(r, prefix) }) {
			t.Fatalf("regulator trace: lot %s hidden=%v, regions %v", l.ID, l.Hidden, m.lots[l.ID].regions())
		}
	}
	// A lot never in the regulator's regions is forbidden.
	for _, id := range m.order {
		l := m.lots[id]
		if !slices.ContainsFunc(l.regions(), func(r string) bool { return strings.HasPrefix(r, prefix) }) {
			reg.do("GET", "/v1/lots/"+l.Code+"/recall", nil).wantProblem(403, "forbidden", "")
			reg.do("GET", "/v1/lots/"+l.Code+"/closure", nil).wantProblem(403, "forbidden", "")
			break
		}
	}
	// Reports: inside the regions only; not for operators.
	other := "44"
	if prefix == "44" {
		other = "31"
	}
	reg.do("GET", "/v1/reports/closure?region="+other, nil).wantProblem(403, "forbidden", "")
	var rep struct{ Scopes []string }
	reg.do("GET", "/v1/reports/closure", nil).want(200).JSON(&rep)
	if !slices.Equal(rep.Scopes, []string{prefix}) {
		t.Fatalf("regulator report scopes %v", rep.Scopes)
	}
	var op *client
	var opOrg string
	for _, a := range w.gen.Actors {
		if a.Principal.Role == ledger.RoleRetailer {
			op, opOrg = w.actors[a.Name], a.Org
			break
		}
	}
	op.do("GET", "/v1/reports/closure", nil).wantProblem(403, "forbidden", "")

	// Lists: the operator's own lots, paged; the admin's all lots, paged.
	all := pageLots(t, w.h.admin, "", 37)
	if len(all) != len(m.lots) {
		t.Fatalf("admin lists %d lots, model %d", len(all), len(m.lots))
	}
	mine := pageLots(t, op, "", 5)
	var want []string
	for _, id := range m.order {
		if slices.Contains(m.lots[id].Orgs, opOrg) {
			want = append(want, id)
		}
	}
	sameSet(t, "operator's lots", mine, want)
	inRegion := pageLots(t, reg, "", 50)
	want = want[:0]
	for _, id := range m.order {
		if slices.ContainsFunc(m.lots[id].regions(), func(r string) bool { return strings.HasPrefix(r, prefix) }) {
			want = append(want, id)
		}
	}
	sameSet(t, "regulator's lots", inRegion, want)
	// Filters against the model.
	l := mover
	got := pageLots(t, w.h.admin, "declaration="+declarationOf(t, w, l), 10)
	want = want[:0]
	for _, id := range m.order {
		if m.lots[id].Root == l.ID {
			want = append(want, id) // children inherit the declaration
		}
	}
	sameSet(t, "lots by declaration", got, want)
	for _, f := range []struct {
		q    string
		keep func(x *mLot) bool
	}{
		{"status=in_transit", func(x *mLot) bool { return x.InTransit > 0 }},
		{"site=" + l.Stays[0].Site, func(x *mLot) bool { return x.Site == l.Stays[0].Site }},
		{"holder=" + l.Stays[0].Org, func(x *mLot) bool { return x.Holder == l.Stays[0].Org }},
		{"region=" + prefix, func(x *mLot) bool {
			return slices.ContainsFunc(x.regions(), func(r string) bool { return strings.HasPrefix(r, prefix) })
		}},
		{"code=" + strings.ToLower(l.Code), func(x *mLot) bool { return x == l }},
	} {
		want = want[:0]
		for _, id := range m.order {
			if f.keep(m.lots[id]) {
				want = append(want, id)
			}
		}
		sameSet(t, "lots by "+f.q, pageLots(t, w.h.admin, f.q, 20), want)
	}
	// Events by lot, by kind, by time window.
	var ev struct {
		Events []struct {
			Seq  int64
			Kind string
			Lot  string
		}
		NextCursor string `json:"next_cursor"`
	}
	w.h.admin.do("GET", "/v1/events?lot="+l.Code, nil).want(200).JSON(&ev)
	if len(ev.Events) == 0 || ev.Events[0].Kind != "declared" {
		t.Fatalf("events of %s: %+v", l.Code, ev.Events)
	}
	n, after := 0, ""
	for {
		ev.Events, ev.NextCursor = nil, ""
		w.h.admin.do("GET", "/v1/events?kind=sold&limit=33"+after, nil).want(200).JSON(&ev)
		n += len(ev.Events)
		for _, e := range ev.Events {
			if e.Kind != "sold" {
				t.Fatalf("kind filter returned %s", e.Kind)
			}
		}
		if ev.NextCursor == "" {
			break
		}
		after = "&after=" + ev.NextCursor
	}
	if n != m.kinds["sold"] {
		t.Fatalf("%d sold events listed, the log has %d", n, m.kinds["sold"])
	}
	w.h.admin.do("GET", "/v1/events?from=2000-01-01&to=2100-01-01&limit=1000", nil).want(200).JSON(&ev)
	if len(ev.Events) != 1000 || ev.NextCursor == "" {
		t.Fatalf("time window page: %d events, cursor %q", len(ev.Events), ev.NextCursor)
	}
	// Problems.
	w.h.admin.do("GET", "/v1/lots/"+l.Code+"/trace?direction=sideways", nil).wantProblem(400, "invalid", "direction")
	w.h.admin.do("GET", "/v1/lots/K7Q2-9XMD-4HTD/recall", nil).wantProblem(404, "not_found", "")
	w.h.admin.do("GET", "/v1/lots?status=lost", nil).wantProblem(400, "invalid", "status")
	w.h.admin.do("GET", "/v1/lots?cursor=zzz", nil).wantProblem(400, "invalid", "cursor")
	w.h.admin.do("GET", "/v1/events?kind=org_registered", nil).wantProblem(400, "invalid", "kind")
	w.h.admin.do("GET", "/v1/events?from=yesterday", nil).wantProblem(400, "invalid", "from")
	w.h.admin.do("GET", "/v1/reports/closure?format=doc", nil).wantProblem(400, "invalid", "format")
	w.h.admin.do("GET", "/v1/reports/closure?from=2026-02-01&to=2026-01-01", nil).wantProblem(400, "invalid", "to")
	w.h.client("").do("GET", "/v1/lots", nil).wantProblem(401, "unauthenticated", "")
}

func declarationOf(t *testing.T, w *queryWorld, l *mLot) string {
	t.Helper()
	var page struct {
		Lots []struct {
			Declaration string `json:"declaration_no"`
		}
	}
	w.h.admin.do("GET", "/v1/lots?code="+l.Code, nil).want(200).JSON(&page)
	if len(page.Lots) != 1 || page.Lots[0].Declaration == "" {
		t.Fatalf("lot %s by code: %+v", l.Code, page)
	}
	return page.Lots[0].Declaration
}

// pageLots lists every lot of a query, page by page.
func pageLots(t *testing.T, c *client, q string, limit int) []string {
	t.Helper()
	var out []string
	cursor := ""
	for i := 0; ; i++ {
		var page struct {
			Lots       []struct{ ID string }
			NextCursor string `json:"next_cursor"`
		}
		c.do("GET", "/v1/lots?limit="+strconv.Itoa(limit)+"&"+q+"&cursor="+url.QueryEscape(cursor), nil).want(200).JSON(&page)
		for _, l := range page.Lots {
			if slices.Contains(out, l.ID) {
				t.Fatalf("lot %s listed twice (%s)", l.ID, q)
			}
			out = append(out, l.ID)
		}
		if page.NextCursor == "" {
			return out
		}
		cursor = page.NextCursor
		if i > 10000 {
			t.Fatal("endless pages")
		}
	}
}
