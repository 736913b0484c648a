package ident

import "testing"

func TestValidResidentID(t *testing.T) {
	for _, c := range []struct {
		id   string
		want bool
	}{
		{"11010519491231002X", true}, // the example of GB 11643-1999
		{"11010519491231002x", true},
		{"110105194912310021", false}, // wrong check character
		{"440524188001010014", true},
		{"440524188001010015", false},
		{"310104200002300015", false}, // 30 February
		{"910104199001010013", false}, // no region starts with 9
		{"11010519491231002", false},  // 17 characters
		{"1101051949123100211", false},
		{"11010519491231002Y", false},
		{"", false},
	} {
		if got := ValidResidentID(c.id); got != c.want {
			t.Errorf("ValidResidentID(%q) = %v, want %v", c.id, got, c.want)
		}
	}
	if c, ok := ResidentIDCheckChar("11010519491231002"); !ok || c != 'X' {
		t.Errorf("check character %c %v, want X", c, ok)
	}
	if _, ok := ResidentIDCheckChar("1101051949123100A"); ok {
		t.Error("a letter among the first 17 passed")
	}
}

func TestValidMobile(t *testing.T) {
	for s, want := range map[string]bool{
		"13812345678": true, "19912345678": true, "12812345678": false, "1381234567": false,
		"138123456789": false, "23812345678": false, "1381234567a": false,
	} {
		if got := ValidMobile(s); got != want {
			t.Errorf("ValidMobile(%q) = %v, want %v", s, got, want)
		}
	}
}
