package asm

// The exp-based kernels: Exp, Softmax, LogSoftmax, LogSoftmaxBackward.
// avo lives in the nested gen module, so it stays out of this module's graph.

//go:generate go run -C ../gen ./exp -out ../asm/exp_amd64.s -stubs ../asm/exp_amd64.go -pkg asm
//go:generate go run -C ../gen ./softmax -out ../asm/softmax_amd64.s -stubs ../asm/softmax_amd64.go -pkg asm
