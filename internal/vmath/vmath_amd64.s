//go:build amd64 && !purego

#include "textflag.h"

// Constants of Cephes expf, as float32 bit patterns (see vmath.go).
DATA expC<>+0(SB)/4, $0xc2ae0000
DATA expC<>+4(SB)/4, $0x42b00000
DATA expC<>+8(SB)/4, $0x3fb8aa3b
DATA expC<>+12(SB)/4, $0x3f000000
DATA expC<>+16(SB)/4, $0x3f318000
DATA expC<>+20(SB)/4, $0xb95e8083
DATA expC<>+24(SB)/4, $0x39506967
DATA expC<>+28(SB)/4, $0x3ab743ce
DATA expC<>+32(SB)/4, $0x3c088908
DATA expC<>+36(SB)/4, $0x3d2aa9c1
DATA expC<>+40(SB)/4, $0x3e2aaaaa
DATA expC<>+44(SB)/4, $0x3f000000
DATA expC<>+48(SB)/4, $0x3f800000
DATA expC<>+52(SB)/4, $0x0000007f
GLOBL expC<>(SB), RODATA|NOPTR, $56

// Constants of Cephes logf.
DATA logC<>+0(SB)/4, $0x007fffff
DATA logC<>+4(SB)/4, $0x3f800000
DATA logC<>+8(SB)/4, $0x0000007f
DATA logC<>+12(SB)/4, $0x3fb504f3
DATA logC<>+16(SB)/4, $0x3f000000
DATA logC<>+20(SB)/4, $0x3f800000
DATA logC<>+24(SB)/4, $0x3d9021bb
DATA logC<>+28(SB)/4, $0xbdebd1b8
DATA logC<>+32(SB)/4, $0x3def251a
DATA logC<>+36(SB)/4, $0xbdfe5d4f
DATA logC<>+40(SB)/4, $0x3e11e9bf
DATA logC<>+44(SB)/4, $0xbe2aae50
DATA logC<>+48(SB)/4, $0x3e4cceac
DATA logC<>+52(SB)/4, $0xbe7ffffc
DATA logC<>+56(SB)/4, $0x3eaaaaaa
DATA logC<>+60(SB)/4, $0xb95e8083
DATA logC<>+64(SB)/4, $0x3f318000
GLOBL logC<>(SB), RODATA|NOPTR, $68

// func exp8(d, x *float32, n int)
// n is a positive multiple of 8. Lanes outside [-87, 88] are clamped here
// and recomputed by the caller.
TEXT ·exp8(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS expC<>+0(SB), Y8   // lo
	VBROADCASTSS expC<>+4(SB), Y9   // hi
	VBROADCASTSS expC<>+8(SB), Y10  // log2e
	VBROADCASTSS expC<>+12(SB), Y11 // 0.5
	VBROADCASTSS expC<>+16(SB), Y12 // ln2Hi
	VBROADCASTSS expC<>+20(SB), Y13 // ln2Lo
	VBROADCASTSS expC<>+48(SB), Y14 // 1
	VPBROADCASTD expC<>+52(SB), Y15 // 127
expLoop:
	VMOVUPS (SI), Y0
	VMAXPS Y8, Y0, Y0
	VMINPS Y9, Y0, Y0
	// fx = floor(x*log2e + 0.5)
	VMOVAPS Y11, Y1
	VFMADD231PS Y10, Y0, Y1
	VROUNDPS $1, Y1, Y1
	// r = x - fx*ln2Hi - fx*ln2Lo
	VFNMADD231PS Y12, Y1, Y0
	VFNMADD231PS Y13, Y1, Y0
	// p = Horner(r)
	VBROADCASTSS expC<>+24(SB), Y2
	VBROADCASTSS expC<>+28(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expC<>+32(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expC<>+36(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expC<>+40(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	VBROADCASTSS expC<>+44(SB), Y3
	VFMADD213PS Y3, Y0, Y2
	// y = p*r*r + r + 1
	VMULPS Y0, Y0, Y4
	VFMADD213PS Y0, Y4, Y2
	VADDPS Y14, Y2, Y2
	// y *= 2^fx
	VCVTTPS2DQ Y1, Y5
	VPADDD Y15, Y5, Y5
	VPSLLD $23, Y5, Y5
	VMULPS Y5, Y2, Y2
	VMOVUPS Y2, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ expLoop
	VZEROUPPER
	RET

// func log8(d, x *float32, n int)
// n is a positive multiple of 8. Lanes that are not positive normal finite
// numbers give garbage here and are recomputed by the caller.
TEXT ·log8(SB), NOSPLIT, $0-24
	MOVQ d+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VPBROADCASTD logC<>+0(SB), Y8   // mantissa mask
	VPBROADCASTD logC<>+4(SB), Y9   // bits of 1.0
	VPBROADCASTD logC<>+8(SB), Y10  // 127
	VBROADCASTSS logC<>+12(SB), Y11 // sqrt2
	VBROADCASTSS logC<>+16(SB), Y12 // 0.5
	VBROADCASTSS logC<>+20(SB), Y13 // 1
	VBROADCASTSS logC<>+60(SB), Y14 // ln2Lo
	VBROADCASTSS logC<>+64(SB), Y15 // ln2Hi
logLoop:
	VMOVUPS (SI), Y0
	// e = (bits >> 23) - 127; m = mantissa | 1.0 in [1, 2)
	VPSRLD $23, Y0, Y1
	VPSUBD Y10, Y1, Y1
	VPAND Y8, Y0, Y0
	VPOR Y9, Y0, Y0
	// if m > sqrt2 { m *= 0.5; e++ }
	VCMPPS $0x1e, Y11, Y0, Y2
	VMULPS Y12, Y0, Y3
	VBLENDVPS Y2, Y3, Y0, Y0
	VPSUBD Y2, Y1, Y1
	// f = m - 1; z = f*f
	VSUBPS Y13, Y0, Y0
	VMULPS Y0, Y0, Y4
	// p = Horner(f)
	VBROADCASTSS logC<>+24(SB), Y5
	VBROADCASTSS logC<>+28(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+32(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+36(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+40(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+44(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+48(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+52(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	VBROADCASTSS logC<>+56(SB), Y6
	VFMADD213PS Y6, Y0, Y5
	// y = f*z*p - 0.5*z
	VMULPS Y0, Y5, Y5
	VMULPS Y4, Y5, Y5
	VFNMADD231PS Y12, Y4, Y5
	// result = f + y + fe*ln2Lo + fe*ln2Hi
	VCVTDQ2PS Y1, Y7
	VFMADD231PS Y14, Y7, Y5
	VADDPS Y5, Y0, Y0
	VFMADD231PS Y15, Y7, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ logLoop
	VZEROUPPER
	RET
