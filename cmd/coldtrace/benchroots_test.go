package main_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"coldtrace/fixtures"
	"coldtrace/ledger"
)

// benchRecordsEnv asks for a larger benchmark ledger: COLDTRACE_BENCH_RECORDS=10M
// (or 2.5M, 500k, 10000000). Unset, or at most the default's 1.1 M records,
// the ledger is the default one.
const benchRecordsEnv = "COLDTRACE_BENCH_RECORDS"

// benchBuildLimitEnv bounds the build's time (e.g. 40m): past it the
// submitters stop and the ledger keeps the records it reached.
const benchBuildLimitEnv = "COLDTRACE_BENCH_BUILD_LIMIT"

// benchDefaultRecords is what the default ledger holds (1,090,937
// records); a root batch of the other regions writes 10.86 records on
// average (the 9,960,685-record build: 816,514 of them added 8,869,748),
// and benchExtraRoots counts 10.84, so that the ledger reaches at least
// the size asked for.
const benchDefaultRecords = 1_090_937

// benchExtraRoots returns how many batches of other regions the ledger
// asked for by COLDTRACE_BENCH_RECORDS adds to the 100,000 of Shanghai.
func benchExtraRoots() (int, error) {
	v := strings.TrimSpace(os.Getenv(benchRecordsEnv))
	if v == "" {
		return 0, nil
	}
	mult := 1.0
	switch {
	case strings.HasSuffix(v, "M") || strings.HasSuffix(v, "m"):
		mult, v = 1e6, v[:len(v)-1]
	case strings.HasSuffix(v, "k") || strings.HasSuffix(v, "K"):
		mult, v = 1e3, v[:len(v)-1]
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(v, "_", ""), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("%s=%q: want a count such as 10M", benchRecordsEnv, os.Getenv(benchRecordsEnv))
	}
	records := int64(f * mult)
	if records <= 1_100_000 { // the default ledger, "1.1 M records"
		return 0, nil
	}
	return int((records-benchDefaultRecords)*100/1084) + 1, nil
}

// benchRegion names a region's members and identifiers.
type benchRegion struct {
	port, prefix string   // the port yard's name, the others' prefix
	districts    []string // at least three county codes
	customs      string   // customs code of the declarations
	owner        string   // container owner code
}

var benchShanghai = benchRegion{port: "上海洋山港冷链物流", prefix: "上海",
	districts: []string{"310115", "310112", "310104", "310110", "310113"}, customs: "2248", owner: "BEN"}

// benchOtherRegions receive the batches beyond Shanghai's 100,000, so that
// the closure report of region 31 keeps its size.
var benchOtherRegions = []benchRegion{
	{port: "宁波舟山港冷链物流", prefix: "浙江", districts: []string{"330206", "330106", "330110"}, customs: "3101", owner: "ZJB"},
	{port: "深圳盐田港冷链物流", prefix: "广东", districts: []string{"440308", "440305", "440106"}, customs: "5316", owner: "GDB"},
	{port: "青岛港冷链物流", prefix: "山东", districts: []string{"370211", "370202", "370102"}, customs: "4227", owner: "SDB"},
	{port: "天津港冷链物流", prefix: "天津", districts: []string{"120116", "120101", "120104"}, customs: "0202", owner: "TJB"},
}

// benchCast is a region's members, registered in the ledger.
type benchCast struct {
	benchRegion
	port                           benchMember
	importers, warehouses, markets []benchMember
	lab, dis                       benchMember
	quarantine, release            map[string][]ledger.AttachmentRef
	report, certificate            []ledger.AttachmentRef // the lab's test report, the disinfector's certificate
}

var benchProducts = []ledger.Product{
	{Name: "冷冻去骨牛肉", HSCode: "0202300090", Category: ledger.CategoryFrozen, OriginCountry: "BR"},
	{Name: "冷冻猪前腿肉", HSCode: "0203291000", Category: ledger.CategoryFrozen, OriginCountry: "ES"},
	{Name: "冷冻南美白虾", HSCode: "0306171990", Category: ledger.CategoryFrozen, OriginCountry: "EC"},
	{Name: "冰鲜三文鱼", HSCode: "0302141000", Category: ledger.CategoryChilled, OriginCountry: "NO"},
}

// benchRun submits subs as one SubmitBatch and returns their receipts, or
// the first error.
func benchRun(ctx context.Context, l *ledger.Ledger, subs []ledger.Submission) ([]*ledger.Receipt, error) {
	out := make([]*ledger.Receipt, len(subs))
	for i, res := range l.SubmitBatch(ctx, subs) {
		if res.Err != nil {
			return nil, fmt.Errorf("bench ledger: %s: %w", subs[i].Event.Kind, res.Err)
		}
		out[i] = res.Receipt
	}
	return out, nil
}

// buildRoots records n import batches of region c, declared over a year
// from start, eleven records each: declaration, test, disinfection, to the
// supervision warehouse, receipt, test, release, a partial shipment to a
// market, its receipt and sale, the rest sold from the warehouse. Some keep
// stock, some are never received, some skip the disinfection (a 四不
// finding, and the warehouse keeps it). It submits 5,000 batches a phase
// and returns how many batches it recorded: fewer than n when stop said so.
func buildRoots(ctx context.Context, l *ledger.Ledger, c *benchCast, r *rand.Rand, n int, start time.Time, stop func() bool, turn *sync.Mutex) (int, error) {
	const chunk = 5000
	lo := 0
	for ; lo < n && !stop(); lo += chunk {
		if err := buildChunk(ctx, l, c, r, lo, min(lo+chunk, n), n, start, turn); err != nil {
			return 0, err
		}
	}
	return min(lo, n), nil
}

// buildChunk records batches lo to hi of n, holding turn.
func buildChunk(ctx context.Context, l *ledger.Ledger, c *benchCast, r *rand.Rand, lo, hi, n int, start time.Time, turn *sync.Mutex) error {
	turn.Lock()
	defer turn.Unlock()
	g := func(kg int64) *ledger.Quantity { return &ledger.Quantity{Grams: kg * 1000} }
	year := 365 * 24 * time.Hour
	temp := -19.0
	type rootLot struct {
		id, child  string
		at         time.Time
		kg         int64
		imp, wh, m benchMember
		keep       bool // keeps stock
		lose       bool // its child is never received
		dirty      bool // never disinfected
	}
	{
		roots := make([]*rootLot, 0, hi-lo)
		var subs []ledger.Submission
		for i := lo; i < hi; i++ {
			rl := &rootLot{at: start.Add(time.Duration(int64(year) * int64(i) / int64(n))), kg: int64(5 + r.IntN(26)),
				imp: c.importers[r.IntN(len(c.importers))], wh: c.warehouses[r.IntN(len(c.warehouses))], m: c.markets[r.IntN(len(c.markets))],
				keep: r.IntN(20) == 0, lose: r.IntN(100) == 0, dirty: r.IntN(50) == 0}
			roots = append(roots, rl)
			prod := benchProducts[r.IntN(len(benchProducts))]
			subs = append(subs, ledger.Submission{Principal: rl.imp.p, Event: ledger.Event{Kind: ledger.Declared, At: rl.at, Site: c.port.site,
				Product: &prod, DeclarationNo: fixtures.DeclarationNo(c.customs, rl.at.Year(), 500000+i),
				Containers: []ledger.Container{{Number: fixtures.Container(c.owner, i), Seal: fmt.Sprintf("B%07d", i)}},
				Quantity:   g(rl.kg * 1000), Attachments: c.quarantine[rl.imp.p.Org]}})
		}
		got, err := benchRun(ctx, l, subs)
		if err != nil {
			return err
		}
		for i, rc := range got {
			roots[i].id = rc.Lot
		}
		subs = subs[:0]
		for _, rl := range roots {
			add := func(p ledger.Principal, ev ledger.Event) {
				subs = append(subs, ledger.Submission{Principal: p, Event: ev})
			}
			add(c.lab.p, ledger.Event{Kind: ledger.Tested, At: rl.at.Add(2 * time.Hour), Lot: rl.id, Samples: 20, Scope: []string{"goods", "packaging"}, Result: "negative"})
			if !rl.dirty {
				add(c.dis.p, ledger.Event{Kind: ledger.Disinfected, At: rl.at.Add(3 * time.Hour), Lot: rl.id, Scope: []string{"each_piece", "outer_packaging"}, Agent: "过氧乙酸", Attachments: c.certificate})
			}
			add(rl.imp.p, ledger.Event{Kind: ledger.Shipped, At: rl.at.Add(5 * time.Hour), Lot: rl.id, ToOrg: rl.wh.p.Org, ToSite: rl.wh.site,
				Quantity: g(rl.kg * 1000), Vehicle: &ledger.Vehicle{Plate: fmt.Sprintf("沪A%05d", r.IntN(100000))}, TemperatureC: &temp})
			add(rl.wh.p, ledger.Event{Kind: ledger.Received, At: rl.at.Add(8 * time.Hour), Lot: rl.id, Site: rl.wh.site, Quantity: g(rl.kg * 1000), TemperatureC: &temp})
			add(c.lab.p, ledger.Event{Kind: ledger.Tested, At: rl.at.Add(10 * time.Hour), Lot: rl.id, Samples: 20, Scope: []string{"goods", "packaging"}, Result: "negative", Attachments: c.report})
			if !rl.dirty {
				add(rl.wh.p, ledger.Event{Kind: ledger.Released, At: rl.at.Add(20 * time.Hour), Lot: rl.id, Attachments: c.release[rl.wh.p.Org]})
			}
		}
		// A batch never disinfected is never released: it stays in the
		// warehouse, open.
		roots = slices.DeleteFunc(roots, func(rl *rootLot) bool { return rl.dirty })
		if _, err := benchRun(ctx, l, subs); err != nil {
			return err
		}
		subs = subs[:0]
		for _, rl := range roots {
			subs = append(subs, ledger.Submission{Principal: rl.wh.p, Event: ledger.Event{Kind: ledger.Shipped, At: rl.at.Add(24 * time.Hour), Lot: rl.id,
				ToOrg: rl.m.p.Org, ToSite: rl.m.site, Quantity: g(rl.kg * 400), Vehicle: &ledger.Vehicle{Plate: fmt.Sprintf("沪B%05d", r.IntN(100000))}, TemperatureC: &temp}})
		}
		if got, err = benchRun(ctx, l, subs); err != nil {
			return err
		}
		for i, rc := range got {
			roots[i].child = rc.CreatedLots[0].ID
		}
		subs = subs[:0]
		for _, rl := range roots {
			add := func(p ledger.Principal, ev ledger.Event) {
				subs = append(subs, ledger.Submission{Principal: p, Event: ev})
			}
			if !rl.lose {
				add(rl.m.p, ledger.Event{Kind: ledger.Received, At: rl.at.Add(30 * time.Hour), Lot: rl.child, Site: rl.m.site, Quantity: g(rl.kg * 400), TemperatureC: &temp})
				add(rl.m.p, ledger.Event{Kind: ledger.Sold, At: rl.at.Add(54 * time.Hour), Lot: rl.child, Quantity: g(rl.kg * 400), Channel: "retail"})
			}
			rest := rl.kg * 600
			if rl.keep {
				rest /= 2
			}
			add(rl.wh.p, ledger.Event{Kind: ledger.Sold, At: rl.at.Add(48 * time.Hour), Lot: rl.id, Quantity: g(rest), Channel: "retail"})
		}
		if _, err := benchRun(ctx, l, subs); err != nil {
			return err
		}
	}
	return nil
}

func TestBenchExtraRoots(t *testing.T) {
	for v, want := range map[string]int{"": 0, "1M": 0, "1100000": 0, "10M": 821870, "10_000_000": 821870, "2.2m": 102313, "5000k": 360615} {
		t.Setenv(benchRecordsEnv, v)
		if got, err := benchExtraRoots(); err != nil || got != want {
			t.Errorf("%s=%q: %d, %v; want %d", benchRecordsEnv, v, got, err, want)
		}
	}
	for _, v := range []string{"ten", "-5M", "M"} {
		t.Setenv(benchRecordsEnv, v)
		if _, err := benchExtraRoots(); err == nil {
			t.Errorf("%s=%q: no error", benchRecordsEnv, v)
		}
	}
}
