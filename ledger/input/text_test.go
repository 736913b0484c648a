package input

import (
	"strings"
	"testing"
)

func TestInvisibleRune(t *testing.T) {
	for _, tc := range []struct {
		in  string
		bad bool
	}{
		{"冻带骨牛肉 Frigorífico S.A.", false},
		{"Café – №5 «x»", false},
		{"evil\u202egnp.exe", true}, // RLO
		{"a\u2066b", true},          // LRI
		{"a\u200bb", true},          // zero width space
		{"a\u200db", true},          // ZWJ
		{"a\ufeffb", true},          // BOM
		{"a\u00adb", true},          // soft hyphen
		{"a\u0085b", true},          // C1 NEL
		{"a\u009bb", true},          // C1 CSI
		{"a\tb", true},
		{"a\u3164b", true}, // Hangul filler
	} {
		if _, bad := InvisibleRune(tc.in); bad != tc.bad {
			t.Errorf("%q: bad %v, want %v", tc.in, bad, tc.bad)
		}
	}
	for _, tc := range [][2]string{{"S-01", "s-01"}, {"S-01", "S-01."}, {"S-01", "s-01-_"}} {
		if FoldID(tc[0]) != FoldID(tc[1]) {
			t.Errorf("%q and %q fold apart", tc[0], tc[1])
		}
	}
	if FoldID("S-01") == FoldID("S-02") {
		t.Error("different ids fold together")
	}
}

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
		got := PersonalData(c.text)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("PersonalData(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
