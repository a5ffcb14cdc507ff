package kernels_test

import (
	"fmt"
	"math"

	"github.com/rowwise/softmax/kernels"
)

func ExampleSoftmax() {
	logits := []float32{1, 2, 3, 0, 0, float32(math.Inf(-1))} // two rows; -Inf masks
	p := make([]float32, len(logits))
	kernels.Softmax(p, logits, 3)
	fmt.Printf("%.4f\n", p)
	// Output: [0.0900 0.2447 0.6652 0.5000 0.5000 0.0000]
}

func ExampleSoftmaxBackward() {
	p := []float64{0.25, 0.25, 0.5} // Softmax's output
	dp := []float64{1, 0, 0}        // the gradient arriving at p
	ds := make([]float64, len(p))   // the gradient at the logits
	kernels.SoftmaxBackward(ds, p, dp, 3)
	fmt.Printf("%.4f\n", ds)
	// Output: [0.1875 -0.0625 -0.1250]
}

func ExampleLogSoftmax() {
	s := []float64{0, 0, 0, 0}
	y := make([]float64, len(s))
	kernels.LogSoftmax(y, s, 4)
	fmt.Printf("%.4f (log 1/4 = %.4f)\n", y, math.Log(0.25))
	// Output: [-1.3863 -1.3863 -1.3863 -1.3863] (log 1/4 = -1.3863)
}
