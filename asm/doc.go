// Package asm holds the amd64 assembly kernels that the generators in gen/
// write, and their Go declarations. Nothing here is edited by hand: change
// gen/ and run go generate ./... . On other GOARCHes, and with the purego
// tag, the package is empty.
package asm
