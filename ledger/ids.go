package ledger

import (
	"strings"
)

// The identifiers users type. No maintained Go library validates them; the
// rules are in the GB and ISO standards cited at each function.

const usccCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY" // GB 32100: 31 characters, no I O Z S V

// USCCCheckChar returns the GB 32100 check character for the first 17
// characters of a unified social credit code, and false if any of them is
// outside the code's character set.
func USCCCheckChar(first17 string) (byte, bool) {
	if len(first17) != 17 {
		return 0, false
	}
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccCharset, first17[i])
		if v < 0 {
			return 0, false
		}
		sum += v * w
		w = w * 3 % 31
	}
	return usccCharset[(31-sum%31)%31], true
}

// ValidUSCC reports whether code is a well-formed unified social credit code
// (GB 32100): 18 characters of the code's set, positions 3-8 digits (the
// region), and the right check character.
func ValidUSCC(code string) bool {
	if !USCCShapeOK(code) {
		return false
	}
	c, ok := USCCCheckChar(code[:17])
	return ok && c == code[17]
}

// USCCShapeOK reports whether code has the shape of a unified social credit
// code, whatever its check character: the test an admin override still needs
// to pass.
func USCCShapeOK(code string) bool {
	if len(code) != 18 {
		return false
	}
	for i := 0; i < 18; i++ {
		if strings.IndexByte(usccCharset, code[i]) < 0 {
			return false
		}
	}
	return allDigits(code[2:8])
}

// provinces are the first two digits of GB/T 2260 region codes.
var provinces = map[string]bool{
	"11": true, "12": true, "13": true, "14": true, "15": true,
	"21": true, "22": true, "23": true,
	"31": true, "32": true, "33": true, "34": true, "35": true, "36": true, "37": true,
	"41": true, "42": true, "43": true, "44": true, "45": true, "46": true,
	"50": true, "51": true, "52": true, "53": true, "54": true,
	"61": true, "62": true, "63": true, "64": true, "65": true,
	"71": true, "81": true, "82": true,
}

// ValidRegion reports whether code is a 6-digit GB/T 2260 administrative
// region code with a known province prefix.
func ValidRegion(code string) bool {
	return len(code) == 6 && allDigits(code) && provinces[code[:2]]
}

// ValidRegionPrefix reports whether p is a region prefix a regulator key may
// be scoped to: a province (2 digits), a city (4) or a county (6).
func ValidRegionPrefix(p string) bool {
	switch len(p) {
	case 2, 4, 6:
		return allDigits(p) && provinces[p[:2]]
	}
	return false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
