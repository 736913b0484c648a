package ledger

import "testing"

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
		if _, bad := invisibleRune(tc.in); bad != tc.bad {
			t.Errorf("%q: bad %v, want %v", tc.in, bad, tc.bad)
		}
	}
	for _, tc := range [][2]string{{"S-01", "s-01"}, {"S-01", "S-01."}, {"S-01", "s-01-_"}} {
		if foldID(tc[0]) != foldID(tc[1]) {
			t.Errorf("%q and %q fold apart", tc[0], tc[1])
		}
	}
	if foldID("S-01") == foldID("S-02") {
		t.Error("different ids fold together")
	}
}
