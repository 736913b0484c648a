package report

import (
	"fmt"
	"io"
	"time"

	"github.com/signintech/gopdf"

	"coldtrace/ledger"
)

// A Notice is a rectification notice (整改通知书) to an operator: its open
// findings, the deadline and the legal basis.
type Notice struct {
	No       string // the notice's number
	Org      ledger.Org
	Findings []ledger.Finding // the first is the one it was issued on
	Deadline time.Time
	IssuedAt time.Time
	Issuer   string // the region in whose name it is issued
}

// LegalBasis is the provision each rule's breach is answered under (a
// finding of a rule not listed cites the general duty).
var LegalBasis = map[string]string{
	ledger.RuleFourNo:               "《中华人民共和国食品安全法》第五十三条（查验供货者的许可证和合格证明，如实记录进货查验）",
	ledger.RuleSealedMoved:          "《中华人民共和国食品安全法》第一百一十条（查封、扣押有证据证明不符合食品安全标准的食品）",
	ledger.RuleTemperatureExcursion: "《中华人民共和国食品安全法》第五十四条（按照保证食品安全的要求贮存食品）、第一百三十二条",
	ledger.RuleTransitOverdue:       "《中华人民共和国食品安全法》第五十三条、第一百三十二条（食品贮存、运输和装卸）",
	ledger.RuleShortReceipt:         "《中华人民共和国食品安全法》第五十三条（如实记录进货查验）",
	ledger.RuleUntestedAfterArrival: "《中华人民共和国食品安全法》第五十三条；进口冷链食品到达后核酸检测的防控要求",
	ledger.RuleLeftLedger:           "《中华人民共和国食品安全法》第五十三条（批发企业如实记录销售情况）、第四十二条（食品安全追溯体系）",
	ledger.RuleLateReport:           "《中华人民共和国食品安全法》第六十三条（停止经营、召回并报告）",
}

// generalBasis is cited for a rule LegalBasis lacks.
const generalBasis = "《中华人民共和国食品安全法》第四条（食品生产经营者对其生产经营食品的安全负责）、第一百二十六条"

// NoticePDF writes n as a PDF in Chinese, with font (the bytes of a
// TrueType CJK font) embedded as a subset.
func NoticePDF(w io.Writer, n *Notice, font []byte) error {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4Landscape, Unit: gopdf.UnitPT})
	pdf.SetInfo(gopdf.PdfInfo{Title: "整改通知书 " + n.No, Creator: "coldtrace", CreationDate: n.IssuedAt})
	if err := pdf.AddTTFFontData("cjk", font); err != nil {
		return fmt.Errorf("the CJK font does not load: %w", err)
	}
	pdf.SetLineWidth(0.5)
	pdf.SetStrokeColor(150, 150, 150)
	d := &pdfDoc{pdf: pdf, footer: "coldtrace 整改通知书 " + n.No}
	d.newPage()
	if err := d.text(20, "整改通知书"); err != nil {
		return err
	}
	cst := func(t time.Time) string { return t.In(chinaTime).Format("2006年01月02日 15:04") }
	lines := []string{
		"编号：" + n.No,
		fmt.Sprintf("%s（统一社会信用代码 %s）：", n.Org.Name, n.Org.USCC),
		fmt.Sprintf("经追溯平台核查，你单位存在下列 %d 项问题：", len(n.Findings)),
	}
	for _, l := range lines {
		if err := d.text(11, l); err != nil {
			return err
		}
	}
	var rows [][]string
	bases := []string{}
	seen := map[string]bool{}
	for i, f := range n.Findings {
		rows = append(rows, []string{fmt.Sprint(i + 1), f.ID, ledger.RuleText[f.Rule][0], f.TraceCode, f.Site, cst(f.OpenedAt), f.Detail})
		b := LegalBasis[f.Rule]
		if b == "" {
			b = generalBasis
		}
		if !seen[b] {
			seen[b] = true
			bases = append(bases, b)
		}
	}
	if err := d.table([]float64{25, 55, 170, 85, 95, 95, 245}, []string{"序号", "问题编号", "问题", "追溯码", "场所", "发现时间（北京时间）", "情况"}, rows); err != nil {
		return err
	}
	if err := d.text(11, "依据："); err != nil {
		return err
	}
	for _, b := range bases {
		if err := d.text(10.5, "· "+b); err != nil {
			return err
		}
	}
	d.y += 4
	for _, l := range []string{
		"责令你单位于 " + cst(n.Deadline) + "（北京时间）前完成整改，并将整改情况及证明材料报送本机关。逾期未整改或整改不到位的，将依法予以处理。",
		"发出机关：辖区代码 " + n.Issuer + " 市场监督管理部门",
		"发出时间：" + cst(n.IssuedAt),
	} {
		if err := d.text(11, l); err != nil {
			return err
		}
	}
	return pdf.Write(w)
}
