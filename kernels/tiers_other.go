//go:build !amd64 || purego

package kernels

// platformTiers: no assembly on this GOARCH (or with the purego tag).
func platformTiers(generic *tier) []*tier { return nil }
