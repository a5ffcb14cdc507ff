package asm

//go:generate go run -C ../gen ./backward -out ../asm/backward_amd64.s -stubs ../asm/backward_amd64.go -pkg asm
