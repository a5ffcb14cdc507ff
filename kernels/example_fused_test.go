package kernels_test

import (
	"fmt"
	"math"

	"github.com/rowwise/softmax/kernels"
)

// One training step of a softmax classifier: logits = X W for a batch of
// four examples with two features and three classes, the mean
// cross-entropy and its gradient at the logits in one call, then the
// weight gradient dW = X^T ds and a step of gradient descent.
func ExampleCrossEntropy() {
	const batch, features, classes = 4, 2, 3
	x := []float32{1, 0, 0, 1, 1, 1, -1, 0.5}
	labels := []int32{0, 1, 2, -1} // the last example is padding: ignored
	w := make([]float32, features*classes)
	for step := 0; step < 3; step++ {
		logits := make([]float32, batch*classes)
		for b := 0; b < batch; b++ {
			for c := 0; c < classes; c++ {
				for f := 0; f < features; f++ {
					logits[b*classes+c] += x[b*features+f] * w[f*classes+c]
				}
			}
		}
		loss := make([]float32, batch)
		ds := logits // the gradient may overwrite the logits
		kernels.CrossEntropy(loss, ds, logits, labels, classes, 1.0/3)
		mean := (loss[0] + loss[1] + loss[2]) / 3
		fmt.Printf("step %d: mean loss %.4f (ln 3 = %.4f)\n", step, mean, math.Log(3))
		dw := make([]float32, features*classes)
		for b := 0; b < batch; b++ {
			for f := 0; f < features; f++ {
				for c := 0; c < classes; c++ {
					dw[f*classes+c] += x[b*features+f] * ds[b*classes+c]
				}
			}
		}
		for i := range w {
			w[i] -= 2 * dw[i]
		}
	}
	// Output:
	// step 0: mean loss 1.0986 (ln 3 = 1.0986)
	// step 1: mean loss 0.8499 (ln 3 = 1.0986)
	// step 2: mean loss 0.7117 (ln 3 = 1.0986)
}

// One causal attention head over a prefill of four tokens with head size
// two: scores S = Q K^T, P = SoftmaxCausal(S / sqrt(2)), O = P V; then the
// backward pass from a gradient dO: dP = dO V^T, dS = SoftmaxCausalBackward
// (which includes the 1/sqrt(2)), and dQ = dS K.
func ExampleSoftmaxCausal() {
	const n, d = 4, 2
	q := []float64{1, 0, 0, 1, 1, 1, 0.5, -1}
	k := []float64{1, 0, 1, 1, 0, 1, -1, 0}
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	dot := func(a, b []float64) float64 { return a[0]*b[0] + a[1]*b[1] }
	s := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			s[i*n+j] = dot(q[i*d:], k[j*d:])
		}
	}
	scale := 1 / math.Sqrt(d)
	p := make([]float64, n*n)
	kernels.SoftmaxCausal(p, s, n, n, scale) // q = n: a prefill, one block
	o := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			o[i*d] += p[i*n+j] * v[j*d]
			o[i*d+1] += p[i*n+j] * v[j*d+1]
		}
	}
	fmt.Printf("P row 1: %.3f\n", p[n:2*n])
	fmt.Printf("O row 3: %.3f\n", o[3*d:])

	do := []float64{0, 0, 0, 0, 0, 0, 1, 0} // the loss reads O[3][0]
	dp := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dp[i*n+j] = dot(do[i*d:], v[j*d:])
		}
	}
	ds := make([]float64, n*n)
	kernels.SoftmaxCausalBackward(ds, p, dp, n, n, scale)
	dq := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dq[i*d] += ds[i*n+j] * k[j*d]
			dq[i*d+1] += ds[i*n+j] * k[j*d+1]
		}
	}
	fmt.Printf("dS row 3: %.3f\n", ds[3*n:])
	fmt.Printf("dQ row 3: %.3f\n", dq[3*d:])
	// Output:
	// P row 1: [0.330 0.670 0.000 0.000]
	// O row 3: [3.285 4.285]
	// dS row 3: [-0.693 -0.043 0.180 0.555]
	// dQ row 3: [-1.291 0.137]
}
