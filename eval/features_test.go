package eval

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/internal/datatest"
	"github.com/bism-ml/bism/tensor"
)

// loadMNISTOrSkip loads MNIST from the data root, skipping the test when it
// is not there.
func loadMNISTOrSkip(t *testing.T) *data.Split {
	t.Helper()
	s, err := data.LoadMNIST(datatest.Root(t, data.NameMNIST))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestShippedMNISTNet loads the shipped classifier and checks it on the
// first 200 MNIST test digits.
func TestShippedMNISTNet(t *testing.T) {
	n, err := DefaultMNISTNet()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := LoadMNISTNet(filepath.FromSlash(MNISTNetFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range n.Params().Names() {
		a, b := n.Params().Get(p).F32(), m2.Params().Get(p).F32()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s differs between the embedded and the file copy", p)
			}
		}
	}
	split := loadMNISTOrSkip(t)
	test := split.Test.Slice(0, 200)
	acc, err := n.Accuracy(test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accuracy on 200 test digits: %.3f (meta %v)", acc, n.Meta)
	if acc < 0.95 {
		t.Fatalf("accuracy %.3f on 200 test digits, want >= 0.95", acc)
	}
	f := n.Features(SetImages(test))
	if s := f.Shape(); s[0] != 200 || s[1] != MNISTFeatureDim {
		t.Fatalf("features shape %v", s)
	}
	if f.HasNaNOrInf() {
		t.Fatal("non-finite features")
	}
	// FID of two halves of the test digits is small next to FID against noise.
	a, b := n.Features(SetImages(test.Slice(0, 100))), n.Features(SetImages(test.Slice(100, 200)))
	noise := n.Features(tensor.NewRNG(1).Uniform(tensor.Float32, 0, 1, 100, 1, 32, 32))
	same, err := FIDTensors(a, b)
	if err != nil {
		t.Fatal(err)
	}
	diff, err := FIDTensors(a, noise)
	if err != nil {
		t.Fatal(err)
	}
	if !(same < diff/5) {
		t.Fatalf("FID(test, test) = %g, FID(test, noise) = %g", same, diff)
	}
}

// TestTrainMNISTClassifierSmoke trains a few iterations on synthetic data
// and round-trips the file.
func TestTrainMNISTClassifierSmoke(t *testing.T) {
	rng := tensor.NewRNG(3)
	x := rng.Uniform(tensor.Float32, 0, 1, 32, 1, 32, 32).F32()
	labels := make([]int, 32)
	for i := range labels {
		labels[i] = i % 10
	}
	set, err := data.NewSet(x, labels, 1, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	n, err := TrainMNISTClassifier(set, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "net.safetensors")
	if err := n.Save(p); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMNISTNet(p)
	if err != nil {
		t.Fatal(err)
	}
	fa, fb := n.Features(SetImages(set)).F32(), m.Features(SetImages(set)).F32()
	for i := range fa {
		if fa[i] != fb[i] {
			t.Fatal("loaded network computes different features")
		}
	}
	if _, err := TrainMNISTClassifier(set, 0, 1); err == nil {
		t.Fatal("0 iterations accepted")
	}
}

// TestTrainShippedMNISTNet (re)trains the shipped classifier. It runs only
// with BISM_TRAIN_MNIST_NET=ITERATIONS set:
//
//	BISM_TRAIN_MNIST_NET=3000 go test ./eval -run TestTrainShippedMNISTNet -v -timeout 1h
func TestTrainShippedMNISTNet(t *testing.T) {
	v := os.Getenv("BISM_TRAIN_MNIST_NET")
	if v == "" {
		t.Skip("set BISM_TRAIN_MNIST_NET=ITERATIONS to retrain the shipped classifier")
	}
	iters, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	split := loadMNISTOrSkip(t)
	start := time.Now()
	n, err := TrainMNISTClassifier(split.Train, iters, 20261129)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := n.Accuracy(split.Test)
	if err != nil {
		t.Fatal(err)
	}
	n.Meta["test_accuracy"] = fmt.Sprintf("%.4f", acc)
	n.Meta["train_seconds"] = fmt.Sprintf("%.0f", time.Since(start).Seconds())
	if err := n.Save(filepath.FromSlash(MNISTNetFile)); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d iterations in %s: test accuracy %.4f on %d digits", iters, time.Since(start), acc, split.Test.N)
}
