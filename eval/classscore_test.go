package eval

import (
	"math"
	"slices"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

func TestClassScores(t *testing.T) {
	// logitsOf builds [n, c] logits from a function of the row and class.
	logitsOf := func(n, c int, f func(i, j int) float64) *tensor.Tensor {
		x := make([]float64, n*c)
		for i := 0; i < n; i++ {
			for j := 0; j < c; j++ {
				x[i*c+j] = f(i, j)
			}
		}
		return tensor.FromFloat64(x, n, c)
	}
	oneHot := func(class func(i int) int) func(i, j int) float64 {
		return func(i, j int) float64 {
			if j == class(i) {
				return 60 // softmax 1 - 9e-26
			}
			return 0
		}
	}
	// Two classes with p(y|x) = (0.8, 0.2) and (0.2, 0.8) alternately: the
	// marginal is uniform, so log Score = 0.8 ln 1.6 + 0.2 ln 0.4.
	soft := func(i, j int) float64 {
		if (i+j)%2 == 0 {
			return math.Log(0.8)
		}
		return math.Log(0.2)
	}
	cases := []struct {
		name                       string
		logits                     *tensor.Tensor
		confident, score, topClass float64
	}{
		{"balanced confident digits", logitsOf(50, 10, oneHot(func(i int) int { return i % 10 })), 1, 10, 0.1},
		{"one digit only", logitsOf(30, 10, oneHot(func(int) int { return 3 })), 1, 1, 1},
		{"uninformative", logitsOf(20, 10, func(i, j int) float64 { return 0 }), 0, 1, 1},
		{"soft two-class", logitsOf(40, 2, soft), 0, math.Exp(0.8*math.Log(1.6) + 0.2*math.Log(0.4)), 0.5},
		{"three of four confident", logitsOf(4, 10, func(i, j int) float64 {
			if i == 3 {
				return 0
			}
			return oneHot(func(i int) int { return i })(i, j)
		}), 0.75, 0, 0.5}, // the uninformative row predicts class 0, as row 0 does
	}
	if got := ClassScores(cases[4].logits).Pred; !slices.Equal(got, []int{0, 1, 2, 0}) {
		t.Errorf("three of four confident: predictions %v, want [0 1 2 0]", got)
	}
	for _, c := range cases {
		s := ClassScores(c.logits)
		if math.Abs(s.Confident-c.confident) > 1e-12 || math.Abs(s.TopClass-c.topClass) > 1e-12 {
			t.Errorf("%s: confident %v top %v, want %v %v", c.name, s.Confident, s.TopClass, c.confident, c.topClass)
		}
		if c.score > 0 && math.Abs(s.Score-c.score) > 1e-9*c.score {
			t.Errorf("%s: score %v, want %v", c.name, s.Score, c.score)
		}
	}
}

// TestClassScoresOfRealDigits checks the shipped classifier's scores on
// real test digits (recognisable and varied) and on blank images.
func TestClassScoresOfRealDigits(t *testing.T) {
	n, err := DefaultMNISTNet()
	if err != nil {
		t.Fatal(err)
	}
	blank := n.ClassScores(tensor.Zeros(tensor.Float32, 50, 1, 32, 32))
	if blank.TopClass != 1 || math.Abs(blank.Score-1) > 1e-9 {
		t.Fatalf("blank images: confident %v, score %v, top class %v; want one class and score 1", blank.Confident, blank.Score, blank.TopClass)
	}
	split := loadMNISTOrSkip(t)
	s := n.ClassScores(SetImages(split.Test.Slice(0, 500)))
	t.Logf("500 test digits: confident %v, score %v, top class %v", s.Confident, s.Score, s.TopClass)
	if s.Confident < 0.9 || s.Score < 8 || s.TopClass > 0.2 {
		t.Fatalf("500 test digits: confident %v, score %v, top class %v; want confident >= 0.9, score >= 8, top class <= 0.2", s.Confident, s.Score, s.TopClass)
	}
}

// TestSameClass checks the via-q agreement measure on real digits: a set
// against itself agrees fully, against the same digits in reverse order it
// agrees about as often as their true labels do (the classifier is ~99%
// accurate), near chance.
func TestSameClass(t *testing.T) {
	n, err := DefaultMNISTNet()
	if err != nil {
		t.Fatal(err)
	}
	split := loadMNISTOrSkip(t)
	te := split.Test.Slice(0, 300)
	x := SetImages(te)
	if got := n.SameClass(x, x); got != 1 {
		t.Fatalf("SameClass(x, x) = %v, want 1", got)
	}
	idx := make([]int, te.N)
	for i := range idx {
		idx[i] = te.N - 1 - i
	}
	rev := tensor.FromFloat32(te.Batch(idx, nil), append([]int{te.N}, te.Shape...)...)
	same := 0
	for i := range idx {
		if te.Labels[i] == te.Labels[idx[i]] {
			same++
		}
	}
	want := float64(same) / float64(te.N)
	got := n.SameClass(x, rev)
	t.Logf("reversed: SameClass %.3f, true labels agree %.3f", got, want)
	if math.Abs(got-want) > 0.04 || got > 0.3 {
		t.Fatalf("SameClass(x, reversed x) = %.3f, want about %.3f (true labels) and near chance", got, want)
	}
}
