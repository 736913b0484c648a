package api

import (
	"strings"
	"testing"
	"time"
)

// FuzzQuickNoDuplicates checks the quick scan against the token reader: a
// body the scan passes has no member twice for the token reader either.
func FuzzQuickNoDuplicates(f *testing.F) {
	for _, s := range quickBodies {
		f.Add([]byte(s.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if quickNoDuplicates(data) {
			if err := checkDuplicateKeysByToken(data); err != nil {
				t.Fatalf("the quick scan passed %q, the token reader refuses it: %v", data, err)
			}
		}
	})
}

// quickBodies are bodies with what the quick scan answers for them itself
// (true) or leaves to the token reader (false).
var quickBodies = []struct {
	in    string
	quick bool
}{
	{`{"kind":"tested","lot":"L-1","samples":20,"scope":["goods","packaging"],"result":"negative"}`, true},
	{" {\"a\" : [1, 2.5e3, -0, true, false, null, {}, [], \"x\\\"y\\u00e9\"] ,\n\"b\":{\"a\":{}}}\t", true},
	{`{"a":{"b":1},"c":{"b":2}}`, true},
	{`[{"x":1},{"x":1}]`, true},
	{`"just a string"`, true},
	{`{"名":1}`, false},            // a key beyond ASCII
	{`{"\u0061":1,"a":2}`, false}, // an escaped key
	{`{"a":1,"a":2}`, false},
	{`{"q":{"grams":1,"grams":2}}`, false},
	{`{"a":1}{"a":1,"a":2}`, false}, // a second value
	{`{"a":1,}`, false},
	{`[1,]`, false},
	{`{"a":`, false},
	{`{"a" 1}`, false},
	{``, false},
	{`{"a":1 "a":2}`, false},
	{strings.Repeat("[", quickMaxDepth+1) + strings.Repeat("]", quickMaxDepth+1), false},
}

func TestQuickNoDuplicates(t *testing.T) {
	for _, tc := range quickBodies {
		if got := quickNoDuplicates([]byte(tc.in)); got != tc.quick {
			t.Errorf("%s: quick scan %v, want %v", tc.in, got, tc.quick)
		}
	}
	var b strings.Builder
	b.WriteString("{")
	for i := range quickMaxKeys + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
	}
	b.WriteString("}")
	if quickNoDuplicates([]byte(b.String())) {
		t.Errorf("an object of %d keys was scanned quickly; the bound is %d", quickMaxKeys+1, quickMaxKeys)
	}
	if !quickNoDuplicates([]byte(strings.Replace(b.String(), `,"k`+strings.Repeat("x", quickMaxKeys)+`":1`, "", 1))) {
		t.Errorf("an object of %d keys was not scanned quickly", quickMaxKeys)
	}
}

// TestCheckDuplicateKeysAllocs: the quick scan of an event body allocates
// nothing.
func TestCheckDuplicateKeysAllocs(t *testing.T) {
	body := []byte(quickBodies[0].in)
	if n := testing.AllocsPerRun(100, func() {
		if err := checkDuplicateKeys(body); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("checkDuplicateKeys allocates %v times an event body", n)
	}
}

// BenchmarkCheckDuplicateKeys measures the check of a `tested` body by the
// quick scan and by the token reader alone, in turns in the same run.
func BenchmarkCheckDuplicateKeys(b *testing.B) {
	body := []byte(quickBodies[0].in)
	var quick, token time.Duration
	for range b.N {
		for _, side := range []struct {
			check func([]byte) error
			took  *time.Duration
		}{{checkDuplicateKeys, &quick}, {checkDuplicateKeysByToken, &token}} {
			start := time.Now()
			for range 1000 {
				if err := side.check(body); err != nil {
					b.Fatal(err)
				}
			}
			*side.took += time.Since(start)
		}
	}
	n := float64(b.N) * 1000
	b.ReportMetric(float64(quick.Nanoseconds())/n, "quick-ns/body")
	b.ReportMetric(float64(token.Nanoseconds())/n, "token-ns/body")
	b.ReportMetric(float64(quick)/float64(token), "ratio-quick-to-token")
}
