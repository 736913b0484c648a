package ident

import (
	"strings"
	"testing"
)

func TestTraceCodes(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c := NewTraceCode()
		n, ok := NormalizeTraceCode(c)
		if !ok || FormatTraceCode(n) != c {
			t.Fatalf("code %s does not normalise back (%q, %v)", c, n, ok)
		}
		if seen[n] {
			t.Fatalf("code %s drawn twice in 2000", c)
		}
		seen[n] = true
		// As a person may type it.
		if m, ok := NormalizeTraceCode(strings.ToLower(strings.ReplaceAll(c, "-", " "))); !ok || m != n {
			t.Fatalf("lower case with spaces: %q", m)
		}
		// Every single-character change is caught by the check character.
		for pos := 0; pos < 12; pos++ {
			b := []byte(n)
			b[pos] = crockford[(strings.IndexByte(crockford, b[pos])+1+i%31)%32]
			if _, ok := NormalizeTraceCode(string(b)); ok {
				t.Fatalf("%s with position %d changed to %s passes the check", n, pos, b)
			}
		}
	}
	// I and L read as 1, O as 0.
	code := "1010-1010-101"
	code += string(luhn32(strings.ReplaceAll(code, "-", "")))
	if m, ok := NormalizeTraceCode(strings.NewReplacer("1", "I", "0", "O").Replace(code[:5]) + code[5:]); !ok || m != strings.ReplaceAll(code, "-", "") {
		t.Fatalf("look-alike letters not read as digits: %q %v", m, ok)
	}
	for _, bad := range []string{"", "ABC", "ABCD-EFGH-JKMU", "ABCD-EFGH-JKM", "ABCD-EFGH-JKMNP", "中文中文-中文中文-中文中文"} {
		if _, ok := NormalizeTraceCode(bad); ok {
			t.Errorf("NormalizeTraceCode(%q) accepted", bad)
		}
	}
}

func FuzzNormalizeTraceCode(f *testing.F) {
	f.Add(NewTraceCode())
	f.Add("0000-0000-0000")
	f.Add("il0o-IL0O-1234")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := NormalizeTraceCode(s)
		if !ok {
			return
		}
		if m, ok := NormalizeTraceCode(FormatTraceCode(n)); !ok || m != n {
			t.Fatalf("%q normalised to %q, whose display form normalises to %q", s, n, m)
		}
	})
}
