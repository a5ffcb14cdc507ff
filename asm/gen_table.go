package asm

// The dispatch table (table_amd64.go), read back from the .s files that the
// lines in gen_backward.go and gen_forward.go write, so it runs after them
// (go generate takes the files in name order).

//go:generate go run -C ../gen ./table -dir ../asm -out ../asm/table_amd64.go -pkg asm
