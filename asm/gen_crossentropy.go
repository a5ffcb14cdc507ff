package asm

// LogSumExp and CrossEntropy. The file name keeps this line before
// gen_table.go's, which reads the .s files back.

//go:generate go run -C ../gen ./xent -out ../asm/xent_amd64.s -stubs ../asm/xent_amd64.go -pkg asm
