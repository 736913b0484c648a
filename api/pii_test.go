package api_test

import (
	"coldtrace/fixtures"
	"strings"
	"testing"
	"time"
)

// TestPersonalDataRefusedOverHTTP: an ID number or a mobile number in a
// free-text field that goes into the log is a 400 naming the field and
// pointing to `people`; nothing is stored.
func TestPersonalDataRefusedOverHTTP(t *testing.T) {
	w := newDemoWorld(t)
	t0 := time.Now().Add(-48 * time.Hour).UTC()
	lot, _ := w.cleanLotInShanghai(t0)
	size := w.h.l.Size()
	for _, c := range []struct {
		who, path, field string
		body             map[string]any
	}{
		{"", "/v1/orgs", "name", map[string]any{"uscc": fixtures.USCC("330106", 901), "name": "张三 11010519491231002X 个体户", "roles": []string{"importer"}, "region": "310115"}},
		// A registry record's note stays in the log, which every key reads.
		{"", "/v1/orgs", "note", map[string]any{"uscc": fixtures.USCC("330106", 902), "name": "个体冷库", "roles": []string{"importer"}, "region": "310115", "note": "负责人手机 13812345678"}},
		{"", "/v1/sites", "address", map[string]any{"id": "SH-PII-1", "org": w.org("sh-importer"), "name": "冷库", "type": "cold_store", "region": "310115",
			"address": "上海市浦东新区 联系人李四 138-1234-5678"}},
		{"sh-importer", "/v1/events", "product.name", map[string]any{"kind": "declared", "at": t0.Format(time.RFC3339), "site": "SH-YS-PORT", "declaration_no": "224820269000000078",
			"product":    map[string]any{"name": "冷冻牛腩 经办人身份证440524188001010014", "hs_code": "0202300090", "category": "frozen", "origin_country": "AR"},
			"containers": []map[string]any{{"number": "MSKU9070323"}}, "quantity": kgs(10)}},
		{"sh-disinfector", "/v1/events", "agent", map[string]any{"kind": "disinfected", "at": t0.Add(7 * time.Hour).Format(time.RFC3339), "lot": lot,
			"scope": []string{"outer_packaging"}, "agent": "过氧乙酸 王五１３９１２３４５６７８"}},
		{"sh-regulator", "/v1/events", "reason", map[string]any{"kind": "sealed", "lot": lot, "reason": "举报人 13912345678 称货物异常"}},
	} {
		k := w.h.admin
		if c.who != "" {
			k = w.key(c.who)
		}
		r := k.do("POST", c.path, c.body)
		r.wantProblem(400, "invalid", c.field)
		if p := r.problem(); !strings.Contains(p.Errors[0].Message, "people") {
			t.Errorf("%s: the refusal does not point to people: %s", c.field, r.Body)
		}
	}
	if w.h.l.Size() != size {
		t.Fatalf("refused requests changed the log: %d -> %d records", size, w.h.l.Size())
	}
	// Numbers that are not personal data pass: a declaration number in a
	// reason.
	w.event("sh-regulator", map[string]any{"kind": "sealed", "lot": lot, "reason": "报关单 224820269000000077 复核"})
}
