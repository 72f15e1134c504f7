//go:build amd64 && !purego

package vmath

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func exp8(d, x *float32, n int)

//go:noescape
func log8(d, x *float32, n int)
