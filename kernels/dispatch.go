package kernels

import (
	"os"
	"strings"
)

// tiers holds the tiers this CPU can run, best first; generic is always last.
var tiers = buildTiers()

// active is the tier every call goes to, chosen once at start-up.
var active = choose(os.Getenv("SOFTMAX_ISA"))

func buildTiers() []*tier {
	generic := &tier{name: "generic", f32: fallbackOps[float32](), f64: fallbackOps[float64]()}
	return append(platformTiers(generic), generic)
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
