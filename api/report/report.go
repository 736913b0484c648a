// Package report formats the ledger's closure report for people and
// spreadsheets: JSON (the API's shape), CSV (UTF-8 with a BOM, one row per
// batch), XLSX (excelize's StreamWriter) and PDF (gopdf, with an embedded
// Chinese TrueType font). The ledger returns the report typed; this adapter
// only formats it, for the API and for the command line.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"coldtrace/ledger"
)

// Formats lists the formats a report can be written in.
var Formats = []string{"json", "csv", "xlsx", "pdf"}

// ContentType returns the media type of a format.
func ContentType(format string) string {
	switch format {
	case "csv":
		return "text/csv; charset=utf-8"
	case "xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case "pdf":
		return "application/pdf"
	}
	return "application/json; charset=utf-8"
}

// FileName is a download name for a report in format.
func FileName(r *ledger.ClosureReport, format string) string {
	region := r.Region
	if region == "" {
		region = "all"
	}
	return fmt.Sprintf("closure-%s-%s.%s", region, r.GeneratedAt.In(chinaTime).Format("20060102-1504"), format)
}

// chinaTime is UTC+8: reports are written in China time.
var chinaTime = time.FixedZone("CST", 8*3600)

// A View is the JSON shape of a report: the totals, and the batches that
// are open or violating (with their reasons); CSV and XLSX list every
// batch.
type View struct {
	Region      string                          `json:"region"`
	Scopes      []string                        `json:"scopes"`
	From        *time.Time                      `json:"from,omitempty"`
	To          *time.Time                      `json:"to,omitempty"`
	GeneratedAt time.Time                       `json:"generated_at"`
	TreeSize    int64                           `json:"tree_size"`
	Totals      ledger.ReportTotals             `json:"totals"`
	ByStatus    map[string]*ledger.ReportTotals `json:"by_status"`
	ByRegion    []*ledger.RegionTotals          `json:"by_region"`
	Lots        []*ledger.ReportBatch           `json:"lots"` // open or violating root batches
	Positive    []*ledger.PositiveBatch         `json:"positive"`
}

// JSONView returns the JSON shape of r.
func JSONView(r *ledger.ClosureReport) View {
	v := View{Region: r.Region, Scopes: r.Scopes, From: r.From, To: r.To, GeneratedAt: r.GeneratedAt, TreeSize: r.TreeSize,
		Totals: r.Totals, ByStatus: r.ByStatus, ByRegion: r.ByRegion, Lots: []*ledger.ReportBatch{}, Positive: r.Positive}
	for _, b := range r.Batches {
		if b.Status != ledger.ClosureClosed {
			v.Lots = append(v.Lots, b)
		}
	}
	return v
}

// StatusText is the Chinese word for a closure status.
var StatusText = map[string]string{
	ledger.ClosureClosed:    "已闭环",
	ledger.ClosureOpen:      "未闭环",
	ledger.ClosureViolation: "违规",
}

// A column of the batch table: a Chinese heading, the machine name after a
// space (so that a program can read the sheet back), and the cell.
type column struct {
	zh, en string
	num    func(b *ledger.ReportBatch) int64 // a number column, or
	text   func(b *ledger.ReportBatch) string
}

func (c column) heading() string { return c.zh + " " + c.en }

var columns = []column{
	{zh: "追溯码", en: "trace_code", text: func(b *ledger.ReportBatch) string { return b.TraceCode }},
	{zh: "状态", en: "status", text: func(b *ledger.ReportBatch) string { return b.Status }},
	{zh: "状态说明", en: "status_zh", text: func(b *ledger.ReportBatch) string { return StatusText[b.Status] }},
	{zh: "报关单号", en: "declaration_no", text: func(b *ledger.ReportBatch) string { return b.Declaration }},
	{zh: "品名", en: "product", text: func(b *ledger.ReportBatch) string { return b.Product }},
	{zh: "进口商", en: "importer", text: func(b *ledger.ReportBatch) string { return b.Importer }},
	{zh: "申报时间", en: "declared_at", text: func(b *ledger.ReportBatch) string {
		return b.DeclaredAt.In(chinaTime).Format("2006-01-02 15:04")
	}},
	{zh: "申报地区", en: "region", text: func(b *ledger.ReportBatch) string { return b.Region }},
	{zh: "涉及地区", en: "regions", text: func(b *ledger.ReportBatch) string { return strings.Join(b.Regions, " ") }},
	{zh: "批次数", en: "lots", num: func(b *ledger.ReportBatch) int64 { return b.Lots }},
	{zh: "申报量(克)", en: "declared", num: func(b *ledger.ReportBatch) int64 { return b.Declared }},
	{zh: "加工产出(克)", en: "produced", num: func(b *ledger.ReportBatch) int64 { return b.Produced }},
	{zh: "在库(克)", en: "on_hand", num: func(b *ledger.ReportBatch) int64 { return b.OnHand }},
	{zh: "在途(克)", en: "in_transit", num: func(b *ledger.ReportBatch) int64 { return b.InTransit }},
	{zh: "已销售(克)", en: "sold", num: func(b *ledger.ReportBatch) int64 { return b.Sold }},
	{zh: "已消费(克)", en: "consumed", num: func(b *ledger.ReportBatch) int64 { return b.Consumed }},
	{zh: "已销毁(克)", en: "destroyed", num: func(b *ledger.ReportBatch) int64 { return b.Destroyed }},
	{zh: "已退运(克)", en: "returned", num: func(b *ledger.ReportBatch) int64 { return b.Returned }},
	{zh: "损耗(克)", en: "lost", num: func(b *ledger.ReportBatch) int64 { return b.Lost }},
	{zh: "投入加工(克)", en: "processed", num: func(b *ledger.ReportBatch) int64 { return b.Processed }},
	{zh: "未关闭问题", en: "open_findings", num: func(b *ledger.ReportBatch) int64 { return b.OpenFindings }},
	{zh: "阳性", en: "positive", text: func(b *ledger.ReportBatch) string {
		if b.Positive {
			return "是"
		}
		return ""
	}},
	{zh: "原因", en: "reasons", text: reasonsText},
	{zh: "批次ID", en: "root", text: func(b *ledger.ReportBatch) string { return b.Root }},
}

func reasonsText(b *ledger.ReportBatch) string { return joinReasons(b, ledger.Reason.Text) }

// shortReasons leaves out the findings' detail.
func shortReasons(b *ledger.ReportBatch) string { return joinReasons(b, ledger.Reason.ShortText) }

func joinReasons(b *ledger.ReportBatch, text func(ledger.Reason) string) string {
	parts := make([]string, 0, len(b.Reasons)+1)
	for _, r := range b.Reasons {
		parts = append(parts, text(r))
	}
	if b.MoreReasons > 0 {
		parts = append(parts, fmt.Sprintf("另有 %d 条原因", b.MoreReasons))
	}
	return strings.Join(parts, "；")
}

// Headings returns the machine names of the batch table's columns.
func Headings() []string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = c.en
	}
	return out
}

func cell(c column, b *ledger.ReportBatch) string {
	if c.num != nil {
		return strconv.FormatInt(c.num(b), 10)
	}
	return c.text(b)
}

// CSV writes one row per batch, with a UTF-8 byte order mark so that Excel
// shows the Chinese text.
func CSV(w io.Writer, r *ledger.ClosureReport) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	row := make([]string, len(columns))
	for i, c := range columns {
		row[i] = c.heading()
	}
	if err := cw.Write(row); err != nil {
		return err
	}
	for _, b := range r.Batches {
		for i, c := range columns {
			row[i] = cell(c, b)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// scopeText says which regions and window a report covers, in Chinese.
func scopeText(r *ledger.ClosureReport) string {
	region := "全部地区"
	if r.Region != "" {
		region = "地区 " + r.Region
	}
	if len(r.Scopes) > 0 && (len(r.Scopes) > 1 || r.Scopes[0] != r.Region) {
		region += "（本账号辖区：" + strings.Join(r.Scopes, "、") + "）"
	}
	window := "全部申报时间"
	day := func(t *time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04") }
	switch {
	case r.From != nil && r.To != nil:
		window = "申报时间 " + day(r.From) + " 至 " + day(r.To)
	case r.From != nil:
		window = "申报时间 " + day(r.From) + " 起"
	case r.To != nil:
		window = "申报时间 " + day(r.To) + " 前"
	}
	return region + "，" + window
}

func kg(g int64) string {
	if g%1000 == 0 {
		return groupDigits(g/1000) + " 千克"
	}
	return fmt.Sprintf("%s.%03d 千克", groupDigits(g/1000), abs(g%1000))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func groupDigits(v int64) string {
	s := strconv.FormatInt(abs(v), 10)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
