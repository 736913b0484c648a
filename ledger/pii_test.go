package ledger

import (
	"strings"
	"testing"

	"coldtrace/ledger/fault"
)

func TestPersonalDataInFreeText(t *testing.T) {
	for _, c := range []struct {
		text, want string
	}{
		{"采样员 张三 身份证 11010519491231002X", "resident ID"},
		{"身份证号:11010519491231002x。", "resident ID"},
		{"身份证１１０１０５１９４９１２３１００２Ｘ", "resident ID"}, // full-width
		{"440524188001010014", "resident ID"},
		{"手机 13812345678", "mobile"},
		{"电话:138-1234-5678", "mobile"},
		{"tel 199 1234 5678 ask for Li", "mobile"},
		{"联系人１３８１２３４５６７８", "mobile"},
		{"110105194912310021", ""},     // check character fails
		{"报关单 224820269000000077", ""}, // a declaration number: no birth date
		{"91330106MA27XL0E2Y", ""},     // a credit code
		{"1381234567", ""},             // ten digits
		{"订单 213812345678", ""},        // inside a longer number
		{"12812345678", ""},            // no such mobile prefix
		{"冷冻牛腩 25kg/箱 2020-12-01", ""},
		{"过氧乙酸 0.5%", ""},
		{"", ""},
	} {
		got := personalData(c.text)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("personalData(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

func TestCheckTextRefusesPersonalData(t *testing.T) {
	var fe fault.Fields
	checkText(&fe, "address", "上海市闵行区 张三 13812345678", false, 300)
	checkText(&fe, "name", "冷链仓", true, 200)
	err := fe.Err()
	if err == nil || !strings.Contains(err.Error(), "address") {
		t.Fatalf("an address with a mobile number passed: %v", err)
	}
	var fe2 fault.Fields
	checkText(&fe2, "name", "冷链仓", true, 200)
	if err := fe2.Err(); err != nil {
		t.Fatalf("a plain name refused: %v", err)
	}
}
