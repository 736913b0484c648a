package kv

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestMergeRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 300; n++ {
		var s []int
		for run := r.IntN(9); run >= 0; run-- {
			v := r.IntN(50)
			for k := r.IntN(20); k >= 0; k-- {
				s = append(s, v)
				v += r.IntN(5)
			}
		}
		want := slices.Sorted(slices.Values(s))
		if got := MergeRuns(slices.Clone(s), cmp.Compare[int]); !slices.Equal(got, want) {
			t.Fatalf("MergeRuns(%v) = %v", s, got)
		}
	}
}
