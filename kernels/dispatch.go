package kernels

import (
	"os"
	"strings"

	"github.com/rowwise/softmax/fallback"
)

// tiers holds the tiers this CPU can run, best first; generic is always last.
// Every tier is complete: fill has taken its missing entries from the tier
// below it.
var tiers = buildTiers()

// active is the tier every call goes to, chosen once at start-up.
var active = choose(os.Getenv("SOFTMAX_ISA"))

func buildTiers() []*tier {
	ts := append(platformTiers(), genericTier())
	for i := len(ts) - 2; i >= 0; i-- {
		ts[i].fill(ts[i+1])
	}
	return ts
}

// choose returns the tier named by want (the value of SOFTMAX_ISA). An empty
// or unknown name, or one this CPU cannot run, gives the best tier.
func choose(want string) *tier {
	want = strings.ToLower(strings.TrimSpace(want))
	for _, t := range tiers {
		if t.name == want {
			return t
		}
	}
	return tiers[0]
}

// Implementation reports the tier in use: "avx512", "avx2" or "generic".
func Implementation() string { return active.name }

func genericTier() *tier {
	return &tier{
		name:                  "generic",
		expF32:                fallback.Exp[float32],
		expF64:                fallback.Exp[float64],
		softmaxF32:            fallback.Softmax[float32],
		softmaxF64:            fallback.Softmax[float64],
		logSoftmaxF32:         fallback.LogSoftmax[float32],
		logSoftmaxF64:         fallback.LogSoftmax[float64],
		softmaxBackwardF32:    fallback.SoftmaxBackward[float32],
		softmaxBackwardF64:    fallback.SoftmaxBackward[float64],
		softmaxBackwardAddF32: fallback.SoftmaxBackwardAdd[float32],
		softmaxBackwardAddF64: fallback.SoftmaxBackwardAdd[float64],
		logSoftmaxBackwardF32: fallback.LogSoftmaxBackward[float32],
		logSoftmaxBackwardF64: fallback.LogSoftmaxBackward[float64],
	}
}
