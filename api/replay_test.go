package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file is an independent model of the ledger's lots, rebuilt from the
// public log alone (GET /v1/log/records): records are parsed as plain JSON
// and lots, edges and quantities are rebuilt from created_lots, lot, inputs
// and quantities. It shares no code with the ledger; the query tests
// compare every answer with it.

type mStay struct {
	Org, Site, Region string
	From              time.Time
	To                *time.Time
}

type mVehicle struct {
	Plate    string
	From     time.Time
	To       *time.Time
	Received bool
}

type mEdge struct {
	From, To, Kind string
	Seq            int64
}

type mOut struct{ Sold, Consumed, Destroyed, Returned, Lost int64 }

type mLot struct {
	ID, Code, Root string
	Roots          []string
	Parents, Kids  []string
	CreatedBy      string
	CreatedSeq     int64
	Declared, OnHand, InTransit, Sold, Consumed, Destroyed, Returned,
	Lost, Split, Transformed int64
	Holder, Site, Region string
	Stays                []mStay
	Vehicles             []mVehicle
	TransitQty           int64
	TransitTo            string // region the lot is on its way to
	Orgs                 []string
	Out                  map[string]*mOut // site + "|" + org
	DeclaredAt           time.Time
}

func (l *mLot) regions() []string {
	var rs []string
	for _, s := range l.Stays {
		if !slices.Contains(rs, s.Region) {
			rs = append(rs, s.Region)
		}
	}
	if l.TransitTo != "" && !slices.Contains(rs, l.TransitTo) {
		rs = append(rs, l.TransitTo)
	}
	return rs
}

type model struct {
	lots     map[string]*mLot
	order    []string // lot ids in creation order
	edges    []mEdge
	sites    map[string][2]string // id -> org, region
	byCode   map[string]string
	size     int64
	kinds    map[string]int
	findings map[string]int // lot id -> open findings (from /v1/findings)
}

type mRecord struct {
	Seq   int64     `json:"seq"`
	Kind  string    `json:"kind"`
	At    time.Time `json:"at"`
	Actor struct {
		Org string `json:"org"`
	} `json:"actor"`
	Site     string `json:"site"`
	Org      string `json:"org"`
	Region   string `json:"region"`
	Lot      string `json:"lot"`
	ToOrg    string `json:"to_org"`
	ToSite   string `json:"to_site"`
	Method   string `json:"method"`
	Quantity *struct {
		Grams int64 `json:"grams"`
	} `json:"quantity"`
	Vehicle *struct {
		Plate string `json:"plate"`
	} `json:"vehicle"`
	Inputs []struct {
		Lot      string `json:"lot"`
		Quantity struct {
			Grams int64 `json:"grams"`
		} `json:"quantity"`
	} `json:"inputs"`
	CreatedLots []struct {
		ID        string `json:"id"`
		TraceCode string `json:"trace_code"`
		Quantity  struct {
			Grams int64 `json:"grams"`
		} `json:"quantity"`
	} `json:"created_lots"`
}

// replayLog reads every record from the log, as an admin, and rebuilds the lots.
func replayLog(t *testing.T, base string) *model {
	t.Helper()
	m := &model{lots: map[string]*mLot{}, sites: map[string][2]string{}, byCode: map[string]string{}, kinds: map[string]int{}}
	for start, size := int64(0), int64(1); start < size; {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/log/records?start=%d", base, start), nil)
		req.Header.Set("Authorization", "Bearer "+adminSecret) // record bodies need a key that reads all
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("log records: %d %s", resp.StatusCode, body)
		}
		if size, err = strconv.ParseInt(resp.Header.Get("X-Tree-Size"), 10, 64); err != nil {
			t.Fatalf("X-Tree-Size: %v", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r mRecord
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			if r.Seq != start {
				t.Fatalf("record %d where %d was expected", r.Seq, start)
			}
			m.apply(t, &r)
			start++
		}
	}
	return m
}

func (m *model) stay(l *mLot, org, site string, at time.Time) {
	l.Holder, l.Site, l.Region = org, site, m.sites[site][1]
	l.Stays = append(l.Stays, mStay{Org: org, Site: site, Region: l.Region, From: at})
	addOrg(l, org)
}

func addOrg(l *mLot, org string) {
	if org != "" && !slices.Contains(l.Orgs, org) {
		l.Orgs = append(l.Orgs, org)
	}
}

func (m *model) create(id, code string, grams int64, by string, seq int64) *mLot {
	l := &mLot{ID: id, Code: code, Declared: grams, CreatedBy: by, CreatedSeq: seq, Out: map[string]*mOut{}}
	m.lots[id] = l
	m.order = append(m.order, id)
	m.byCode[strings.ReplaceAll(code, "-", "")] = id
	return l
}

func (m *model) out(l *mLot) *mOut {
	k := l.Site + "|" + l.Holder
	o := l.Out[k]
	if o == nil {
		o = &mOut{}
		l.Out[k] = o
	}
	return o
}

func (m *model) apply(t *testing.T, r *mRecord) {
	m.size = r.Seq + 1
	m.kinds[r.Kind]++
	l := m.lots[r.Lot]
	if l != nil {
		addOrg(l, r.Actor.Org)
	}
	g := int64(0)
	if r.Quantity != nil {
		g = r.Quantity.Grams
	}
	switch r.Kind {
	case "site_registered":
		m.sites[r.Site] = [2]string{r.Org, r.Region}
	case "declared":
		c := r.CreatedLots[0]
		l := m.create(c.ID, c.TraceCode, c.Quantity.Grams, "declared", r.Seq)
		l.Root, l.Roots, l.OnHand, l.DeclaredAt = c.ID, []string{c.ID}, c.Quantity.Grams, r.At
		m.stay(l, r.Actor.Org, r.Site, r.At)
	case "shipped":
		moving := l
		if len(r.CreatedLots) > 0 {
			c := r.CreatedLots[0]
			moving = m.create(c.ID, c.TraceCode, c.Quantity.Grams, "shipped", r.Seq)
			moving.Root, moving.Roots, moving.Parents, moving.DeclaredAt = l.Root, l.Roots, []string{l.ID}, l.DeclaredAt
			moving.Holder, moving.Orgs = l.Holder, slices.Clone(l.Orgs)
			l.Kids = append(l.Kids, moving.ID)
			l.Split += g
			m.edges = append(m.edges, mEdge{From: l.ID, To: moving.ID, Kind: "shipped", Seq: r.Seq})
		} else {
			n := len(l.Stays)
			at := r.At
			l.Stays[n-1].To = &at
			l.Site, l.Region = "", ""
		}
		l.OnHand -= g
		moving.InTransit += g
		moving.TransitQty = g
		moving.TransitTo = m.sites[r.ToSite][1]
		addOrg(moving, r.ToOrg)
		if r.Vehicle != nil {
			moving.Vehicles = append(moving.Vehicles, mVehicle{Plate: r.Vehicle.Plate, From: r.At})
		}
	case "received":
		q := l.TransitQty
		l.InTransit -= q
		l.OnHand += g
		if q > g {
			l.Lost += q - g
			lost := l.Out["|"+l.Holder]
			if lost == nil {
				lost = &mOut{}
				l.Out["|"+l.Holder] = lost
			}
			lost.Lost += q - g
		}
		for i := range l.Vehicles {
			if l.Vehicles[i].To == nil {
				at := r.At
				l.Vehicles[i].To = &at
			}
		}
		l.TransitQty, l.TransitTo = 0, ""
		m.stay(l, r.Actor.Org, r.Site, r.At)
	case "transformed":
		var ins []*mLot
		for _, in := range r.Inputs {
			il := m.lots[in.Lot]
			addOrg(il, r.Actor.Org)
			il.OnHand -= in.Quantity.Grams
			il.Transformed += in.Quantity.Grams
			ins = append(ins, il)
		}
		for _, c := range r.CreatedLots {
			o := m.create(c.ID, c.TraceCode, c.Quantity.Grams, "transformed", r.Seq)
			o.OnHand = c.Quantity.Grams
			o.Root, o.DeclaredAt = ins[0].Roots[0], ins[0].DeclaredAt
			for _, il := range ins {
				o.Parents = append(o.Parents, il.ID)
				il.Kids = append(il.Kids, o.ID)
				for _, rt := range il.Roots {
					if !slices.Contains(o.Roots, rt) {
						o.Roots = append(o.Roots, rt)
					}
				}
				for _, org := range il.Orgs {
					addOrg(o, org)
				}
				m.edges = append(m.edges, mEdge{From: il.ID, To: o.ID, Kind: "transformed", Seq: r.Seq})
			}
			m.stay(o, r.Actor.Org, r.Site, r.At)
		}
	case "sold":
		l.OnHand -= g
		l.Sold += g
		m.out(l).Sold += g
	case "consumed":
		l.OnHand -= g
		l.Consumed += g
		m.out(l).Consumed += g
	case "destroyed":
		l.OnHand -= g
		if r.Method == "return_export" {
			l.Returned += g
			m.out(l).Returned += g
		} else {
			l.Destroyed += g
			m.out(l).Destroyed += g
		}
	case "voided", "unsealed":
		t.Fatalf("the test model does not replay %s records (record %d)", r.Kind, r.Seq)
	}
	// Goods that are all gone are no longer at the site.
	touched := []*mLot{l}
	for _, in := range r.Inputs {
		touched = append(touched, m.lots[in.Lot])
	}
	for _, tl := range touched {
		if tl == nil {
			continue
		}
		if n := len(tl.Stays); n > 0 && tl.OnHand == 0 && tl.Stays[n-1].To == nil {
			at := r.At
			tl.Stays[n-1].To = &at
		}
	}
}

// family returns every lot that has one of roots among its roots.
func (m *model) family(roots []string) []*mLot {
	var out []*mLot
	for _, id := range m.order {
		l := m.lots[id]
		if slices.ContainsFunc(l.Roots, func(r string) bool { return slices.Contains(roots, r) }) {
			out = append(out, l)
		}
	}
	return out
}

// descendants returns l and every lot below it.
func (m *model) descendants(l *mLot) []*mLot {
	out := []*mLot{l}
	seen := map[string]bool{l.ID: true}
	for i := 0; i < len(out); i++ {
		for _, k := range out[i].Kids {
			if !seen[k] {
				seen[k] = true
				out = append(out, m.lots[k])
			}
		}
	}
	return out
}

// ancestors returns l and every lot above it.
func (m *model) ancestors(l *mLot) []*mLot {
	out := []*mLot{l}
	seen := map[string]bool{l.ID: true}
	for i := 0; i < len(out); i++ {
		for _, p := range out[i].Parents {
			if !seen[p] {
				seen[p] = true
				out = append(out, m.lots[p])
			}
		}
	}
	return out
}

// closure is the model's closure of lot l: status and accounting.
func (m *model) closure(l *mLot) (status string, acc map[string]int64) {
	acc = map[string]int64{"declared": l.Declared}
	open := int64(0)
	for _, d := range m.descendants(l) {
		acc["on_hand"] += d.OnHand
		acc["in_transit"] += d.InTransit
		acc["sold"] += d.Sold
		acc["consumed"] += d.Consumed
		acc["destroyed"] += d.Destroyed
		acc["returned"] += d.Returned
		acc["lost"] += d.Lost
		acc["processed"] += d.Transformed
		if d.CreatedBy == "transformed" && d != l {
			acc["produced"] += d.Declared
		}
		acc["lots"]++
		open += int64(m.findings[d.ID])
	}
	acc["terminal"] = acc["sold"] + acc["consumed"] + acc["destroyed"] + acc["returned"] + acc["lost"]
	acc["open_findings"] = open
	switch {
	case open > 0:
		return "violation", acc
	case acc["on_hand"] > 0 || acc["in_transit"] > 0:
		return "open", acc
	}
	return "closed", acc
}
