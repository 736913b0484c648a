package ident

import (
	"testing"
)

// Vectors computed with python-stdnum 1.18 (Debian python3-stdnum: cn.uscc,
// iso6346), an implementation independent of ours.
func TestValidUSCC(t *testing.T) {
	cases := []struct {
		code string
		ok   bool
	}{
		{"91110000600037341L", true},
		{"91310000MA1FL4CT3U", true},
		{"91440300MA5F011118", true},
		{"91330200MA2AB1234Y", true},
		{"12100000400000000W", true},
		{"91500000202805720T", true},
		{"91370200MA3C12345E", true},
		{"91410100MA44ABCDEP", true},
		{"91320500MA1MYYYY0K", true},
		{"91420100MA4K123ABC", true},
		{"91110000600037341M", false},  // wrong check character
		{"91310000MA1FL4CT3X", false},  // wrong check character
		{"91110000600037341", false},   // 17 characters
		{"91110000600037341LL", false}, // 19 characters
		{"9111000060003734IL", false},  // I is not in the set
		{"91110000600O37341L", false},  // O is not in the set
		{"91A10000600037341L", false},  // region not digits
		{"91110000600037341l", false},  // lower case
		{"", false},
	}
	for _, c := range cases {
		if got := ValidUSCC(c.code); got != c.ok {
			t.Errorf("ValidUSCC(%q) = %v, want %v", c.code, got, c.ok)
		}
	}
}

func TestUSCCShapeOK(t *testing.T) {
	if !USCCShapeOK("91310000MA1FL4CT3X") {
		t.Error("a code with a wrong check character still has the shape")
	}
	if USCCShapeOK("91310000MA1FL4CT3I") {
		t.Error("I is outside the character set")
	}
}

func TestValidContainer(t *testing.T) {
	cases := []struct {
		n  string
		ok bool
	}{
		{"CSQU3054383", true},
		{"MSKU9070323", true},
		{"TGHU1234567", true},
		{"OOLU1837494", true},
		{"CMAU7001127", true},
		{"TCLU1234568", true},
		{"MRKU5550019", true},
		{"HLXU8123451", true},
		{"CSQU3054384", false}, // check digit
		{"CSQX3054383", false}, // category must be U, J or Z
		{"CSQU305438", false},  // short
		{"csqu3054383", false}, // lower case
		{"CS1U3054383", false},
		{"CSQU30543A3", false},
		{"", false},
	}
	for _, c := range cases {
		if got := ValidContainer(c.n); got != c.ok {
			t.Errorf("ValidContainer(%q) = %v, want %v", c.n, got, c.ok)
		}
	}
}

func TestValidRegion(t *testing.T) {
	for code, ok := range map[string]bool{
		"310115": true, "330106": true, "440305": true, "110105": true, "500112": true,
		"990101": false, "31011": false, "3101150": false, "31011a": false, "": false, "000000": false,
	} {
		if got := ValidRegion(code); got != ok {
			t.Errorf("ValidRegion(%q) = %v, want %v", code, got, ok)
		}
	}
	for p, ok := range map[string]bool{"33": true, "3301": true, "330106": true, "3": false, "331": false, "99": false, "3301x6": false} {
		if got := ValidRegionPrefix(p); got != ok {
			t.Errorf("ValidRegionPrefix(%q) = %v, want %v", p, got, ok)
		}
	}
}

func TestValidPlate(t *testing.T) {
	for p, ok := range map[string]bool{
		"沪A12345": true, "浙AD12345": true, "粤B1234F": true, "京AF0236": true, "豫A1234挂": true,
		"沪I12345": false, "沪A1234": false, "沪A123456789": false, "XA12345": false, "沪a12345": false, "沪A12O45": false, "": false,
	} {
		if got := ValidPlate(p); got != ok {
			t.Errorf("ValidPlate(%q) = %v, want %v", p, got, ok)
		}
	}
}

func TestValidHSDeclCountry(t *testing.T) {
	for c, ok := range map[string]bool{"0202300090": true, "030617": true, "0207": true, "8703": true, "9999": false, "02": false, "02023000901": false, "7700": false, "02a2": false} {
		if got := ValidHSCode(c); got != ok {
			t.Errorf("ValidHSCode(%q) = %v, want %v", c, got, ok)
		}
	}
	for d, ok := range map[string]bool{"223320201000123456": true, "22332020100012345": false, "22332020100012345X": false} {
		if got := ValidDeclarationNo(d); got != ok {
			t.Errorf("ValidDeclarationNo(%q) = %v, want %v", d, got, ok)
		}
	}
	for c, ok := range map[string]bool{"BR": true, "NZ": true, "AR": true, "EC": true, "CN": true, "XX": false, "br": false, "BRA": false, "D ": false, "": false} {
		if got := ValidCountry(c); got != ok {
			t.Errorf("ValidCountry(%q) = %v, want %v", c, got, ok)
		}
	}
}
