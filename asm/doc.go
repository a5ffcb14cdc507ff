// Package asm holds the amd64 assembly kernels that the generators in gen/
// write, their Go declarations, and the dispatch table read back from them
// (table_amd64.go, written by gen/table: per tier its CPU features and its
// kernels by operation and element type), which kernels and bench dispatch
// from. The generated files are never edited by hand: change gen/ and run
// go generate ./... . On other GOARCHes, and with the purego tag, the
// package is empty.
package asm
