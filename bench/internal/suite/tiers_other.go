//go:build !amd64 || purego

package suite

// asmImpls returns nothing: there is no assembly on this platform.
func asmImpls() []*Impl { return nil }
