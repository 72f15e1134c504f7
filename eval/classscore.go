package eval

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/tensor"
)

// ConfidentThreshold is the softmax probability at or above which the MNIST
// classifier counts a sample as a recognisable digit.
const ConfidentThreshold = 0.9

// ClassScore summarises a classifier's softmax outputs on a set of samples:
// how many look like some digit, and how varied the digits are.
type ClassScore struct {
	// Confident is the fraction of samples whose largest class probability
	// is at least ConfidentThreshold: a count of "recognisable" samples that
	// does not depend on someone's eye (fragments and blanks mostly fall
	// below it; see docs/DEEP.md for its limits).
	Confident float64
	// Score is the Inception Score's analogue, exp(mean_x KL(p(y|x) || p(y))):
	// 10 for confident samples spread evenly over the ten digits, 1 for
	// samples that all get the same prediction or that say nothing.
	Score float64
	// TopClass is the share of the most frequent predicted class (0.1 when
	// balanced); it flags a sampler that collapsed onto one shape.
	TopClass float64
	// Pred is the predicted class of each sample (the first of equal
	// logits), for measures between sets such as SameClass.
	Pred []int
}

// ClassScores computes ClassScore from logits [N, C].
func ClassScores(logits *tensor.Tensor) ClassScore {
	if logits.Rank() != 2 || logits.Dim(0) < 1 {
		panic(fmt.Sprintf("eval.ClassScores: logits shape %v, want [N C] with N >= 1", logits.Shape()))
	}
	n, c := logits.Dim(0), logits.Dim(1)
	p := make([]float64, n*c)
	marginal := make([]float64, c)
	counts := make([]int, c)
	s := ClassScore{Pred: argmaxRows(logits)}
	for i := 0; i < n; i++ {
		row := p[i*c : (i+1)*c]
		best, sum := s.Pred[i], 0.0
		for j := range row {
			row[j] = logits.At(i, j)
		}
		mx := row[best]
		for j := range row { // softmax, shifted by the largest logit
			row[j] = math.Exp(row[j] - mx)
			sum += row[j]
		}
		for j := range row {
			row[j] /= sum
			marginal[j] += row[j] / float64(n)
		}
		counts[best]++
		if row[best] >= ConfidentThreshold {
			s.Confident++
		}
	}
	kl := 0.0
	for i := 0; i < n; i++ {
		for j, pj := range p[i*c : (i+1)*c] {
			if pj > 0 {
				kl += pj * math.Log(pj/marginal[j])
			}
		}
	}
	top := 0
	for _, k := range counts {
		top = max(top, k)
	}
	s.Confident /= float64(n)
	s.Score = math.Exp(kl / float64(n))
	s.TopClass = float64(top) / float64(n)
	return s
}

// ClassScores runs the classifier on images x [N,1,32,32] and summarises
// its predictions (see ClassScore).
func (n *MNISTNet) ClassScores(x *tensor.Tensor) ClassScore {
	_, s := n.FeaturesAndScores(x)
	return s
}

// FeaturesAndScores returns Features(x) and ClassScores(x) from one pass of
// the network (FID/KID and the class scores of the same samples).
func (n *MNISTNet) FeaturesAndScores(x *tensor.Tensor) (*tensor.Tensor, ClassScore) {
	f, l := n.apply(x)
	return f, ClassScores(l)
}

// SameClass is the fraction of positions i at which two lists of
// predicted classes agree (ClassScore.Pred of two sets of the same size).
// For samples drawn "via q" from the posterior means of source images, it
// says how much of the source's digit the latent h carries into the sample
// (chance: about 0.1).
func SameClass(a, b []int) float64 {
	if len(a) != len(b) || len(a) < 1 {
		panic(fmt.Sprintf("eval.SameClass: %d and %d predictions, want the same N >= 1", len(a), len(b)))
	}
	same := 0
	for i := range a {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same) / float64(len(a))
}

// SameClass runs the classifier on images a and b [N,1,32,32] and returns
// the fraction of rows it puts in the same class (eval.SameClass).
func (n *MNISTNet) SameClass(a, b *tensor.Tensor) float64 {
	return SameClass(n.Predict(a), n.Predict(b))
}
