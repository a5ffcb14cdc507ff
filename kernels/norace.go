//go:build !race

package kernels

func raceRead[F Float | int32](s []F) {}
func raceWrite[F Float](s []F)        {}
