//go:build amd64 && !purego

#include "textflag.h"

// func aisRow64(a *float32, acc *[8]float64, n int, k *[24]float64, bp, db float64, rnd *uint32, hout *float32, hval float32) (over uint64)
//
// Eight lanes of float64 per iteration over n (a multiple of 8) elements of
// one chain's a: accumulates the weight increments softplus(β_c a) -
// softplus(β_p a) into acc's lanes, sets hout_j = hval where
// rnd_j 2^-32 < sigmoid(β_c a_j) and 0 elsewhere, and returns a non-zero
// mask if any lane had db|a| >= 1/64, where the truncated series are not
// accurate enough (the caller then redoes the row). aisRow does the same in
// Go; k is aisK.
TEXT ·aisRow64(SB), NOSPLIT, $0-80
	MOVQ a+0(FP), SI
	MOVQ n+16(FP), CX
	MOVQ k+24(FP), R10
	MOVQ rnd+48(FP), R11
	MOVQ hout+56(FP), DI
	VBROADCASTSS hval+64(FP), Z28
	MOVQ $0x3df0000000000000, AX
	VPBROADCASTQ AX, Z29          // 2^-32
	MOVQ $0x7fffffffffffffff, AX
	VPBROADCASTQ AX, Z16          // |.| mask
	MOVQ $0x8000000000000000, AX
	VPBROADCASTQ AX, Z17          // sign mask
	VBROADCASTSD bp+32(FP), Z18
	VPXORQ Z17, Z18, Z18          // -bp
	VBROADCASTSD 88(R10), Z19     // log2e
	VBROADCASTSD 96(R10), Z20     // ln2hi
	VBROADCASTSD 104(R10), Z21    // ln2lo
	VBROADCASTSD db+40(FP), Z22   // db
	MOVQ $0x3ff0000000000000, AX
	VPBROADCASTQ AX, Z23          // 1
	MOVQ $0x3fe0000000000000, AX
	VPBROADCASTQ AX, Z24          // 0.5
	VMULPD Z24, Z22, Z25          // db/2
	MOVQ $0x3f90000000000000, AX
	VPBROADCASTQ AX, Z26          // 1/64
	VPXORQ Z27, Z27, Z27          // acc
	KXORW K2, K2, K2              // over
	SHRQ $3, CX
	JZ   done
loop:
	VCVTPS2PD (SI), Z0            // x
	VPANDQ Z16, Z0, Z1            // ax = |x|
	// e1 = exp(z), z = -bp ax = m ln2 + r, m = round(z log2e)
	VMULPD Z18, Z1, Z2            // z
	VMULPD Z19, Z2, Z3
	VRNDSCALEPD $0, Z3, Z3        // m
	VFNMADD231PD Z20, Z3, Z2      // r = z - m ln2hi
	VFNMADD231PD Z21, Z3, Z2      // r -= m ln2lo
	VBROADCASTSD 0(R10), Z4       // Horner from 1/12!
	VBROADCASTSD 8(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 16(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 24(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 32(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 40(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 48(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 56(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 64(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 72(R10), Z14
	VFMADD213PD Z14, Z2, Z4
	VBROADCASTSD 80(R10), Z14
	VFMADD213PD Z14, Z2, Z4       // ... + 1/2
	VFMADD213PD Z23, Z2, Z4       // ... + 1
	VFMADD213PD Z23, Z2, Z4       // exp(r)
	VSCALEFPD Z3, Z4, Z4          // e1 = exp(r) 2^m
	// em1 = expm1(s), s = -t, t = db ax: s((1 + s/2) + s²((1/6 + s/24) + s²(1/120 + s/720)))
	VMULPD Z22, Z1, Z5            // t
	VCMPPD $0x1D, Z26, Z5, K1     // t >= 1/64
	KORW K1, K2, K2
	VPXORQ Z17, Z5, Z6            // s
	VMULPD Z6, Z6, Z7             // s²
	VMOVAPD Z24, Z8
	VFMADD213PD Z23, Z6, Z8       // 1 + s/2
	VBROADCASTSD 120(R10), Z9
	VBROADCASTSD 112(R10), Z14
	VFMADD213PD Z14, Z6, Z9       // 1/6 + s/24
	VBROADCASTSD 136(R10), Z10
	VBROADCASTSD 128(R10), Z14
	VFMADD213PD Z14, Z6, Z10      // 1/120 + s/720
	VFMADD231PD Z10, Z7, Z9
	VFMADD231PD Z9, Z7, Z8
	VMULPD Z8, Z6, Z8             // em1
	// e2 = e1 + e1 em1, y = e1 em1 / (1 + e1)
	VMOVAPD Z4, Z11
	VFMADD231PD Z8, Z4, Z11       // e2
	VMULPD Z8, Z4, Z12
	VADDPD Z23, Z4, Z13
	VDIVPD Z13, Z12, Z12          // y
	// l = log1p(y) = y((1 - y/2) + y²((1/3 - y/4) + y²(1/5 - y/6)))
	VMULPD Z12, Z12, Z7           // y²
	VBROADCASTSD 176(R10), Z8     // -1/2
	VFMADD213PD Z23, Z12, Z8
	VBROADCASTSD 152(R10), Z9     // -1/4
	VBROADCASTSD 144(R10), Z14    // 1/3
	VFMADD213PD Z14, Z12, Z9
	VBROADCASTSD 168(R10), Z10    // -1/6
	VBROADCASTSD 160(R10), Z14    // 1/5
	VFMADD213PD Z14, Z12, Z10
	VFMADD231PD Z10, Z7, Z9
	VFMADD231PD Z9, Z7, Z8
	VMULPD Z8, Z12, Z8            // l
	// inc = l + db/2 (x + ax) = l + db max(x, 0)
	VADDPD Z1, Z0, Z9
	VFMADD231PD Z25, Z9, Z8
	VADDPD Z8, Z27, Z27
	// p = 0.5 + copysign(1/(1+e2) - 0.5, x)
	VADDPD Z23, Z11, Z9
	VDIVPD Z9, Z23, Z9
	VSUBPD Z24, Z9, Z9
	VPANDQ Z17, Z0, Z10
	VPORQ Z10, Z9, Z9
	VADDPD Z24, Z9, Z9            // p
	// hout = hval where u < p, u = rnd 2^-32
	VMOVDQU (R11), Y10
	VCVTUDQ2PD Y10, Z10
	VMULPD Z29, Z10, Z10
	VCMPPD $1, Z9, Z10, K3        // u < p
	VPXORD Z11, Z11, Z11
	VMOVAPS Z28, K3, Z11
	VMOVUPS Y11, (DI)
	ADDQ $32, SI
	ADDQ $32, R11
	ADDQ $32, DI
	DECQ CX
	JNZ  loop
done:
	MOVQ acc+8(FP), DX
	VMOVUPD Z27, (DX)
	KMOVW K2, AX
	MOVQ AX, over+72(FP)
	VZEROUPPER
	RET
