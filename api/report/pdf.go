package report

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/signintech/gopdf"

	"coldtrace/ledger"
)

// FontEnv names the environment variable that points at the TrueType CJK
// font PDF reports embed.
const FontEnv = "COLDTRACE_CJK_FONT"

// fontPaths are where Debian's fonts-lxgw-wenkai puts its regular face
// (the path has changed between releases).
var fontPaths = []string{
	"/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf",
	"/usr/share/fonts/truetype/lxgw/LXGWWenKai-Regular.ttf",
	"/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKaiGB-Regular.ttf",
}

// FindFont returns the path of the CJK TrueType font: $COLDTRACE_CJK_FONT
// if set, else the first of Debian's fonts-lxgw-wenkai paths that exists.
func FindFont() (string, error) {
	if p := os.Getenv(FontEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", FontEnv, p, err)
		}
		return p, nil
	}
	for _, p := range fontPaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if m, _ := filepath.Glob("/usr/share/fonts/truetype/*/LXGWWenKai-Regular.ttf"); len(m) > 0 {
		return m[0], nil
	}
	return "", errors.New("no CJK TrueType font for PDF reports: install Debian's fonts-lxgw-wenkai (apt-get install fonts-lxgw-wenkai) or set " + FontEnv + " to a .ttf file (not .ttc)")
}

// A Font is the CJK font, read from disk once, on first use.
type Font struct {
	once sync.Once
	data []byte
	err  error
}

// Data returns the font's bytes, reading them the first time.
func (f *Font) Data() ([]byte, error) {
	f.once.Do(func() {
		var p string
		if p, f.err = FindFont(); f.err == nil {
			f.data, f.err = os.ReadFile(p)
		}
	})
	return f.data, f.err
}

// MaxPDFBatches caps the open and violating batches a PDF details; the
// rest are in the CSV and XLSX.
const MaxPDFBatches = 300

// Page geometry (points, A4 landscape).
const (
	pageW, pageH = 842.0, 595.0
	margin       = 36.0
	bodySize     = 9.0
	lineH        = 13.0
)

type pdfDoc struct {
	pdf    *gopdf.GoPdf
	y      float64
	page   int
	footer string // before the page number; the closure report's when empty
}

func (d *pdfDoc) newPage() {
	d.pdf.AddPage()
	d.page++
	d.y = margin
	_ = d.pdf.SetFont("cjk", "", 8)
	d.pdf.SetTextColor(120, 120, 120)
	d.pdf.SetXY(margin, pageH-margin+8)
	footer := d.footer
	if footer == "" {
		footer = "coldtrace 闭环管理报告"
	}
	_ = d.pdf.Cell(nil, fmt.Sprintf("%s  第 %d 页", footer, d.page))
	d.pdf.SetTextColor(0, 0, 0)
	_ = d.pdf.SetFont("cjk", "", bodySize)
}

// need starts a new page unless h points fit on this one.
func (d *pdfDoc) need(h float64) {
	if d.y+h > pageH-margin {
		d.newPage()
	}
}

func (d *pdfDoc) text(size float64, s string) error {
	if err := d.pdf.SetFont("cjk", "", size); err != nil {
		return err
	}
	lines, err := d.pdf.SplitText(s, pageW-2*margin)
	if err != nil {
		return err
	}
	h := size * 1.45
	for _, l := range lines {
		d.need(h)
		d.pdf.SetXY(margin, d.y)
		if err := d.pdf.Cell(nil, l); err != nil {
			return err
		}
		d.y += h
	}
	return d.pdf.SetFont("cjk", "", bodySize)
}

// table draws a table with a heading row, repeated on every page it spans;
// cells wrap within their column (a row taller than a page is cut).
func (d *pdfDoc) table(widths []float64, head []string, rows [][]string) error {
	split := func(cells []string) ([][]string, float64) {
		lines := make([][]string, len(cells))
		n := 1
		for i, c := range cells {
			ls, err := d.pdf.SplitText(c, widths[i]-6)
			if err != nil || len(ls) == 0 {
				ls = []string{c}
			}
			lines[i] = ls
			n = max(n, len(ls))
		}
		return lines, float64(n)*lineH + 4
	}
	draw := func(lines [][]string, h float64, shade bool) error {
		if room := pageH - margin - d.y; h > room {
			keep := max(1, int((room-4)/lineH))
			for i := range lines {
				if len(lines[i]) > keep {
					lines[i] = append(lines[i][:keep-1:keep-1], lines[i][keep-1]+"…")
				}
			}
			h = float64(keep)*lineH + 4
		}
		x := margin
		for i := range lines {
			style := "D"
			if shade {
				d.pdf.SetFillColor(221, 235, 247)
				style = "FD"
			}
			d.pdf.RectFromUpperLeftWithStyle(x, d.y, widths[i], h, style)
			for j, l := range lines[i] {
				d.pdf.SetXY(x+3, d.y+2+float64(j)*lineH)
				if err := d.pdf.Cell(&gopdf.Rect{W: widths[i] - 6, H: lineH}, l); err != nil {
					return err
				}
			}
			x += widths[i]
		}
		d.y += h
		return nil
	}
	hl, hh := split(head)
	first := true
	for _, r := range rows {
		rl, rh := split(r)
		if first || d.y+rh > pageH-margin {
			if !first || d.y+hh+rh > pageH-margin {
				d.newPage()
			}
			if err := draw(hl, hh, true); err != nil {
				return err
			}
			first = false
		}
		if err := draw(rl, rh, false); err != nil {
			return err
		}
	}
	d.y += 8
	return nil
}

func pct(part, whole int64) string {
	if whole == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
}

// PDF writes the report for people to read, in Chinese, with font (the
// bytes of a TrueType CJK font) embedded as a subset.
func PDF(w io.Writer, r *ledger.ClosureReport, font []byte) error {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4Landscape, Unit: gopdf.UnitPT})
	pdf.SetInfo(gopdf.PdfInfo{Title: "进口冷链食品闭环管理报告", Creator: "coldtrace", CreationDate: r.GeneratedAt})
	if err := pdf.AddTTFFontData("cjk", font); err != nil {
		return fmt.Errorf("the CJK font does not load: %w", err)
	}
	pdf.SetLineWidth(0.5)
	pdf.SetStrokeColor(150, 150, 150)
	d := &pdfDoc{pdf: pdf}
	d.newPage()
	if err := d.text(18, "进口冷链食品闭环管理报告"); err != nil {
		return err
	}
	d.y += 4
	t := r.Totals
	lines := []string{
		"范围：" + scopeText(r),
		fmt.Sprintf("生成时间：%s（北京时间），依据账本前 %d 条记录", r.GeneratedAt.In(chinaTime).Format("2006-01-02 15:04:05"), r.TreeSize),
		fmt.Sprintf("结论：共 %d 个进口批次，已闭环 %d 个（%s），未闭环 %d 个，违规 %d 个；阳性批次 %d 个。",
			t.Batches, t.Closed, pct(t.Closed, t.Batches), t.Open, t.Violation, len(r.Positive)),
		fmt.Sprintf("数量核对：申报 %s，加工产出 %s；其中已销售 %s、已消费 %s、已销毁 %s、已退运 %s、损耗 %s、投入加工 %s，尚在库 %s、在途 %s。",
			kg(t.Declared), kg(t.Produced), kg(t.Sold), kg(t.Consumed), kg(t.Destroyed), kg(t.Returned), kg(t.Lost), kg(t.Processed), kg(t.OnHand), kg(t.InTransit)),
	}
	for _, l := range lines {
		if err := d.text(10.5, l); err != nil {
			return err
		}
	}
	d.y += 6
	qtyHead := []string{"批次", "申报量", "在库", "在途", "已销售", "已消费", "已销毁/退运", "损耗", "投入加工", "未关闭问题"}
	qtyCells := func(x *ledger.ReportTotals) []string {
		return []string{fmt.Sprint(x.Batches), kg(x.Declared), kg(x.OnHand), kg(x.InTransit), kg(x.Sold), kg(x.Consumed),
			kg(x.Destroyed + x.Returned), kg(x.Lost), kg(x.Processed), fmt.Sprint(x.OpenFindings)}
	}
	if err := d.text(13, "一、按闭环状态"); err != nil {
		return err
	}
	var rows [][]string
	for _, s := range []string{ledger.ClosureClosed, ledger.ClosureOpen, ledger.ClosureViolation} {
		rows = append(rows, append([]string{StatusText[s]}, qtyCells(r.ByStatus[s])...))
	}
	rows = append(rows, append([]string{"合计"}, qtyCells(&r.Totals)...))
	w11 := []float64{55, 40, 80, 75, 70, 90, 70, 75, 70, 80, 65}
	if err := d.table(w11, append([]string{"状态"}, qtyHead...), rows); err != nil {
		return err
	}
	if err := d.text(13, "二、按地区（批次涉及的每个地区各计一次）"); err != nil {
		return err
	}
	rows = rows[:0]
	for _, rt := range r.ByRegion {
		rows = append(rows, []string{rt.Region, fmt.Sprint(rt.Batches), fmt.Sprint(rt.Closed), fmt.Sprint(rt.Open), fmt.Sprint(rt.Violation),
			pct(rt.Closed, rt.Batches), kg(rt.OnHand), kg(rt.InTransit), kg(rt.Sold + rt.Consumed), fmt.Sprint(rt.OpenFindings)})
	}
	if err := d.table([]float64{70, 60, 60, 60, 60, 70, 100, 100, 110, 80},
		[]string{"地区代码", "批次", "已闭环", "未闭环", "违规", "闭环率", "在库", "在途", "已销售及消费", "未关闭问题"}, rows); err != nil {
		return err
	}
	if err := d.text(13, "三、阳性批次及召回进度"); err != nil {
		return err
	}
	if len(r.Positive) == 0 {
		if err := d.text(bodySize, "无阳性批次。"); err != nil {
			return err
		}
	} else {
		rows = rows[:0]
		for _, p := range r.Positive {
			at := ""
			if p.PositiveAt != nil {
				at = p.PositiveAt.In(chinaTime).Format("2006-01-02 15:04")
			}
			rows = append(rows, []string{p.TraceCode, p.Product, at, fmt.Sprintf("%d/%d", p.SealedLots, p.Lots), kg(p.SealedOnHand) + " / " + kg(p.OnHand),
				kg(p.InTransit), kg(p.Reached), kg(p.Disposed), fmt.Sprintf("%.0f%%", 100*p.Progress), joinRegions(p.Regions)})
		}
		if err := d.table([]float64{88, 90, 80, 60, 120, 70, 70, 70, 42, 80},
			[]string{"追溯码", "品名", "阳性时间", "封存/批次", "封存在库/在库", "在途", "已流入消费", "已销毁退运", "进度", "涉及地区"}, rows); err != nil {
			return err
		}
	}
	if err := d.text(13, "四、未闭环及违规批次明细"); err != nil {
		return err
	}
	shown := 0
	rows = rows[:0]
	for _, b := range r.Batches {
		if b.Status == ledger.ClosureClosed {
			continue
		}
		if shown == MaxPDFBatches {
			break
		}
		shown++
		rows = append(rows, []string{b.TraceCode, StatusText[b.Status], b.Product, b.Region, kg(b.OnHand), kg(b.InTransit), fmt.Sprint(b.OpenFindings), shortReasons(b)})
	}
	if len(rows) == 0 {
		if err := d.text(bodySize, "所有批次均已闭环。"); err != nil {
			return err
		}
	} else if err := d.table([]float64{88, 42, 80, 50, 75, 65, 35, 335},
		[]string{"追溯码", "状态", "品名", "申报地区", "在库", "在途", "问题", "原因（货物所在、在途情况、未关闭的问题）"}, rows); err != nil {
		return err
	}
	if rest := t.Open + t.Violation - int64(shown); rest > 0 {
		if err := d.text(bodySize, fmt.Sprintf("另有 %d 个未闭环或违规批次未在此列出，详见同一报告的 CSV 或 XLSX 导出。", rest)); err != nil {
			return err
		}
	}
	return pdf.Write(w)
}
