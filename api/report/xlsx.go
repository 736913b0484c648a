package report

import (
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"

	"coldtrace/ledger"
)

// Sheet names of the workbook.
const (
	SheetBatches  = "批次闭环"
	SheetSummary  = "汇总"
	SheetPositive = "阳性批次"
)

// XLSX writes the report as a workbook: every batch on the first sheet
// (one row each, the same columns as the CSV, numbers as numbers, with a
// filter on the heading row so that it sorts), the totals by status and by
// region on the second, the positive batches on the third. Rows are
// streamed (excelize's StreamWriter), so a report of 100,000 batches does
// not build a DOM.
func XLSX(w io.Writer, r *ledger.ClosureReport) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetBatches); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Color: []string{"DDEBF7"}, Pattern: 1}})
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetBatches)
	if err != nil {
		return err
	}
	for i, c := range columns {
		width := 12.0
		switch c.en {
		case "trace_code", "declaration_no", "declared_at":
			width = 18
		case "product", "importer", "regions":
			width = 22
		case "reasons":
			width = 80
		case "root":
			width = 38
		}
		if err := sw.SetColWidth(i+1, i+1, width); err != nil {
			return err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(columns))
	for i, c := range columns {
		head[i] = excelize.Cell{StyleID: bold, Value: c.heading()}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	row := make([]any, len(columns))
	for n, b := range r.Batches {
		for i, c := range columns {
			if c.num != nil {
				row[i] = c.num(b)
			} else {
				row[i] = c.text(b)
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, n+2)
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if len(r.Batches) > 0 {
		// A table: filter and sort buttons on the heading row.
		last, _ := excelize.CoordinatesToCellName(len(columns), len(r.Batches)+1)
		if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: "batches", StyleName: "TableStyleLight9"}); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	if err := summarySheet(f, r, bold); err != nil {
		return err
	}
	if err := positiveSheet(f, r, bold); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

var totalsHead = []string{"批次 batches", "已闭环 closed", "未闭环 open", "违规 violation", "批次数 lots", "申报量(克) declared",
	"加工产出(克) produced", "在库(克) on_hand", "在途(克) in_transit", "已销售(克) sold", "已消费(克) consumed",
	"已销毁(克) destroyed", "已退运(克) returned", "损耗(克) lost", "投入加工(克) processed", "未关闭问题 open_findings"}

func totalsRow(t *ledger.ReportTotals) []any {
	return []any{t.Batches, t.Closed, t.Open, t.Violation, t.Lots, t.Declared, t.Produced, t.OnHand, t.InTransit, t.Sold,
		t.Consumed, t.Destroyed, t.Returned, t.Lost, t.Processed, t.OpenFindings}
}

func headRow(style int, first string, rest []string) []any {
	out := []any{excelize.Cell{StyleID: style, Value: first}}
	for _, h := range rest {
		out = append(out, excelize.Cell{StyleID: style, Value: h})
	}
	return out
}

func summarySheet(f *excelize.File, r *ledger.ClosureReport, bold int) error {
	if _, err := f.NewSheet(SheetSummary); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetSummary)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 1, 24); err != nil {
		return err
	}
	if err := sw.SetColWidth(2, 17, 16); err != nil {
		return err
	}
	n := 0
	put := func(vals []any) error {
		n++
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, vals)
	}
	rows := [][]any{
		{excelize.Cell{StyleID: bold, Value: "进口冷链食品闭环管理报告"}},
		{scopeText(r)},
		{fmt.Sprintf("生成时间 %s，账本记录数 %d", r.GeneratedAt.In(chinaTime).Format("2006-01-02 15:04:05"), r.TreeSize)},
		{},
		headRow(bold, "按状态 by status", totalsHead),
		append([]any{"合计 total"}, totalsRow(&r.Totals)...),
	}
	for _, s := range []string{ledger.ClosureClosed, ledger.ClosureOpen, ledger.ClosureViolation} {
		rows = append(rows, append([]any{StatusText[s] + " " + s}, totalsRow(r.ByStatus[s])...))
	}
	rows = append(rows, []any{}, headRow(bold, "按地区 by region", totalsHead))
	for _, rt := range r.ByRegion {
		rows = append(rows, append([]any{rt.Region}, totalsRow(&rt.ReportTotals)...))
	}
	for _, v := range rows {
		if err := put(v); err != nil {
			return err
		}
	}
	return sw.Flush()
}

var positiveHead = []string{"品名 product", "阳性时间 positive_at", "批次数 lots", "阳性批次 positive_lots", "封存批次 sealed_lots",
	"未清批次 open_lots", "在库(克) on_hand", "已封存在库(克) sealed_on_hand", "在途(克) in_transit", "已流入消费(克) reached_consumers",
	"已销毁退运(克) disposed", "召回进度 progress", "涉及地区 regions"}

func positiveSheet(f *excelize.File, r *ledger.ClosureReport, bold int) error {
	if _, err := f.NewSheet(SheetPositive); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(SheetPositive)
	if err != nil {
		return err
	}
	if err := sw.SetColWidth(1, 14, 16); err != nil {
		return err
	}
	if err := sw.SetRow("A1", headRow(bold, "追溯码 trace_code", positiveHead)); err != nil {
		return err
	}
	for i, p := range r.Positive {
		at := ""
		if p.PositiveAt != nil {
			at = p.PositiveAt.In(chinaTime).Format("2006-01-02 15:04")
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{p.TraceCode, p.Product, at, p.Lots, p.PositiveLots, p.SealedLots, p.OpenLots, p.OnHand,
			p.SealedOnHand, p.InTransit, p.Reached, p.Disposed, p.Progress, joinRegions(p.Regions)}); err != nil {
			return err
		}
	}
	return sw.Flush()
}

func joinRegions(rs []string) string {
	s := ""
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += r
	}
	return s
}
