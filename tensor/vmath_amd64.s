//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 exp, log, sigmoid and softplus, 16 lanes at a time, with
// the Cephes range reductions and polynomials of fastmath.go. Results below
// the smallest normal float32 are flushed to zero as in exp32: subnormal
// values slow every later operation that touches them. Each function
// processes len(x) rounded down to a multiple of 16; the Go caller does the
// tail with the scalar functions.

DATA vconst<>+0(SB)/4, $0x3fb8aa3b  // log2(e)
DATA vconst<>+4(SB)/4, $0x3f000000  // 0.5
DATA vconst<>+8(SB)/4, $0x3f318000  // ln2 high part
DATA vconst<>+12(SB)/4, $0xb95e8083 // ln2 low part
DATA vconst<>+16(SB)/4, $0x39506967 // exp polynomial
DATA vconst<>+20(SB)/4, $0x3ab743ce
DATA vconst<>+24(SB)/4, $0x3c088908
DATA vconst<>+28(SB)/4, $0x3d2aa9c1
DATA vconst<>+32(SB)/4, $0x3e2aaaaa
DATA vconst<>+36(SB)/4, $0x3f000000
DATA vconst<>+40(SB)/4, $0x3f800000 // 1
DATA vconst<>+44(SB)/4, $0x42b17217 // 88.72283: exp overflows above
DATA vconst<>+48(SB)/4, $0xc2ae999a // -87.3: exp flushes to 0 below
DATA vconst<>+52(SB)/4, $0x00000000 // 0
DATA vconst<>+56(SB)/4, $0x3d9021bb // log polynomial
DATA vconst<>+60(SB)/4, $0xbdebd1b8
DATA vconst<>+64(SB)/4, $0x3def251a
DATA vconst<>+68(SB)/4, $0xbdfe5d4f
DATA vconst<>+72(SB)/4, $0x3e11e9bf
DATA vconst<>+76(SB)/4, $0xbe2aae50
DATA vconst<>+80(SB)/4, $0x3e4cceac
DATA vconst<>+84(SB)/4, $0xbe7ffffc
DATA vconst<>+88(SB)/4, $0x3eaaaaaa
DATA vconst<>+92(SB)/4, $0x3fb504f3 // sqrt(2)
GLOBL vconst<>(SB), RODATA|NOPTR, $96

// Constant registers: Z8 log2e, Z9 0.5, Z10 ln2hi, Z11 ln2lo, Z12-Z17 exp
// polynomial, Z18 1, Z19 exp's upper bound, Z20 its lower bound, Z21 0,
// Z22-Z30 log polynomial, Z31 sqrt(2). Z0-Z7 are scratch.
#define LOADCONSTS \
	VBROADCASTSS vconst<>+0(SB), Z8; \
	VBROADCASTSS vconst<>+4(SB), Z9; \
	VBROADCASTSS vconst<>+8(SB), Z10; \
	VBROADCASTSS vconst<>+12(SB), Z11; \
	VBROADCASTSS vconst<>+16(SB), Z12; \
	VBROADCASTSS vconst<>+20(SB), Z13; \
	VBROADCASTSS vconst<>+24(SB), Z14; \
	VBROADCASTSS vconst<>+28(SB), Z15; \
	VBROADCASTSS vconst<>+32(SB), Z16; \
	VBROADCASTSS vconst<>+36(SB), Z17; \
	VBROADCASTSS vconst<>+40(SB), Z18; \
	VBROADCASTSS vconst<>+44(SB), Z19; \
	VBROADCASTSS vconst<>+48(SB), Z20; \
	VPXORD Z21, Z21, Z21; \
	VBROADCASTSS vconst<>+56(SB), Z22; \
	VBROADCASTSS vconst<>+60(SB), Z23; \
	VBROADCASTSS vconst<>+64(SB), Z24; \
	VBROADCASTSS vconst<>+68(SB), Z25; \
	VBROADCASTSS vconst<>+72(SB), Z26; \
	VBROADCASTSS vconst<>+76(SB), Z27; \
	VBROADCASTSS vconst<>+80(SB), Z28; \
	VBROADCASTSS vconst<>+84(SB), Z29; \
	VBROADCASTSS vconst<>+88(SB), Z30; \
	VBROADCASTSS vconst<>+92(SB), Z31

// EXP: Z1 = exp(Z0) for Z0 in range; lanes below -87.3 give 0 and lanes
// above 88.72283 (or NaN) give whatever the clamped argument gives: callers
// fix those with EXPFIX when they can occur. Uses Z2-Z4.
#define EXP \
	VMINPS Z19, Z0, Z2; \
	VMAXPS Z20, Z2, Z2; \
	VMOVAPS Z9, Z3; \
	VFMADD231PS Z8, Z2, Z3; \
	VRNDSCALEPS $9, Z3, Z3; \
	VFNMADD231PS Z10, Z3, Z2; \
	VFNMADD231PS Z11, Z3, Z2; \
	VMOVAPS Z12, Z1; \
	VFMADD213PS Z13, Z2, Z1; \
	VFMADD213PS Z14, Z2, Z1; \
	VFMADD213PS Z15, Z2, Z1; \
	VFMADD213PS Z16, Z2, Z1; \
	VFMADD213PS Z17, Z2, Z1; \
	VMULPS Z2, Z2, Z4; \
	VFMADD213PS Z2, Z4, Z1; \
	VADDPS Z18, Z1, Z1; \
	VSCALEFPS Z3, Z1, Z1; \
	VCMPPS $0x11, Z20, Z0, K1; \
	VMOVAPS Z21, K1, Z1

// EXPFIX: +Inf where Z0 > 88.72283, Z0 itself where Z0 is NaN. Uses Z5.
#define EXPFIX \
	MOVL $0x7f800000, AX; \
	VPBROADCASTD AX, Z5; \
	VCMPPS $0x1e, Z19, Z0, K2; \
	VMOVAPS Z5, K2, Z1; \
	VCMPPS $3, Z0, Z0, K3; \
	VMOVAPS Z0, K3, Z1

// LOGCORE: Z1 = log(Z2) for positive finite Z2 (subnormals included:
// VGETMANTPS/VGETEXPPS normalise them). Uses Z2-Z6.
#define LOGCORE \
	VGETEXPPS Z2, Z3; \
	VGETMANTPS $0, Z2, Z2; \
	VCMPPS $0x1e, Z31, Z2, K1; \
	VMULPS Z9, Z2, K1, Z2; \
	VADDPS Z18, Z3, K1, Z3; \
	VSUBPS Z18, Z2, Z2; \
	VMULPS Z2, Z2, Z4; \
	VMOVAPS Z22, Z1; \
	VFMADD213PS Z23, Z2, Z1; \
	VFMADD213PS Z24, Z2, Z1; \
	VFMADD213PS Z25, Z2, Z1; \
	VFMADD213PS Z26, Z2, Z1; \
	VFMADD213PS Z27, Z2, Z1; \
	VFMADD213PS Z28, Z2, Z1; \
	VFMADD213PS Z29, Z2, Z1; \
	VFMADD213PS Z30, Z2, Z1; \
	VMULPS Z2, Z4, Z6; \
	VMULPS Z6, Z1, Z1; \
	VFNMADD231PS Z9, Z4, Z1; \
	VADDPS Z2, Z1, Z1; \
	VFMADD231PS Z11, Z3, Z1; \
	VFMADD231PS Z10, Z3, Z1

#define PROLOGUE \
	MOVQ d_base+0(FP), DI; \
	MOVQ x_base+24(FP), SI; \
	MOVQ x_len+32(FP), CX; \
	SHRQ $4, CX; \
	JZ   done; \
	LOADCONSTS

// NEXT advances to the next 16 lanes and loops while any remain.
#define NEXT \
	ADDQ $64, SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNZ  loop

// func expAVX512(d, x []float32)
TEXT ·expAVX512(SB), NOSPLIT, $0-48
	PROLOGUE
loop:
	VMOVUPS (SI), Z0
	EXP
	EXPFIX
	VMOVUPS Z1, (DI)
	NEXT
done:
	VZEROUPPER
	RET

// func logAVX512(d, x []float32)
TEXT ·logAVX512(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z5 // -Inf
	MOVL $0x7fc00000, AX
	VPBROADCASTD AX, Z7 // NaN
loop:
	VMOVUPS (SI), Z0
	VMOVAPS Z0, Z2
	LOGCORE
	// log(0) = -Inf, log(+Inf) = +Inf, log(x<0) = log(NaN) = NaN.
	VCMPPS $0, Z21, Z0, K1
	VMOVAPS Z5, K1, Z1
	VCMPPS $0x19, Z21, Z0, K2
	VMOVAPS Z7, K2, Z1
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z6
	VCMPPS $0, Z6, Z0, K3
	VMOVAPS Z6, K3, Z1
	VMOVUPS Z1, (DI)
	NEXT
done:
	VZEROUPPER
	RET

// func sigmoidAVX512(d, x []float32)
// sigmoid(x) = 1/(1+e) for x >= 0 and e/(1+e) for x < 0, e = exp(-|x|).
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z7 // sign bit
loop:
	VMOVUPS (SI), Z5
	VPORD Z7, Z5, Z0
	EXP
	VADDPS Z18, Z1, Z2
	VDIVPS Z2, Z18, Z3
	VCMPPS $0x11, Z21, Z5, K2
	VMULPS Z1, Z3, K2, Z3
	VCMPPS $3, Z5, Z5, K3
	VMOVAPS Z5, K3, Z3
	VMOVUPS Z3, (DI)
	NEXT
done:
	VZEROUPPER
	RET

// func softplusAVX512(d, x []float32)
// softplus(x) = max(x, 0) + log1p(e), e = exp(-|x|) in [0, 1], with
// log1p(e) = log(u) + (e - (u-1))/u, u = 1 + e, as log1p32 computes it.
TEXT ·softplusAVX512(SB), NOSPLIT, $0-48
	PROLOGUE
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z7 // sign bit
loop:
	VMOVUPS (SI), Z5
	VPORD Z7, Z5, Z0
	EXP
	VADDPS Z18, Z1, Z2
	VSUBPS Z18, Z2, Z0 // u - 1
	VSUBPS Z0, Z1, Z0  // e - (u-1)
	VDIVPS Z2, Z0, Z0  // (e - (u-1))/u
	LOGCORE
	VADDPS Z0, Z1, Z1
	VMAXPS Z21, Z5, Z2
	VADDPS Z2, Z1, Z1
	VCMPPS $3, Z5, Z5, K3
	VMOVAPS Z5, K3, Z1
	VMOVUPS Z1, (DI)
	NEXT
done:
	VZEROUPPER
	RET

// func eluAVX512(d, x []float32)
// elu(x) = x for x > 0, exp(x) - 1 otherwise (exp of min(x, 0), so large x
// cannot overflow); NaN stays NaN.
TEXT ·eluAVX512(SB), NOSPLIT, $0-48
	PROLOGUE
loop:
	VMOVUPS (SI), Z5
	VMINPS Z21, Z5, Z0
	EXP
	VSUBPS Z18, Z1, Z1
	VCMPPS $0x1e, Z21, Z5, K2
	VMOVAPS Z5, K2, Z1
	VCMPPS $3, Z5, Z5, K3
	VMOVAPS Z5, K3, Z1
	VMOVUPS Z1, (DI)
	NEXT
done:
	VZEROUPPER
	RET

// func eluGradAVX512(d, g, x, y []float32)
// d = g where x > 0 and g·(y + 1) elsewhere (y = elu(x), so y + 1 = exp(x)),
// over len(d) rounded down to a multiple of 16.
TEXT ·eluGradAVX512(SB), NOSPLIT, $0-96
	MOVQ d_base+0(FP), DI
	MOVQ g_base+24(FP), SI
	MOVQ x_base+48(FP), R8
	MOVQ y_base+72(FP), R9
	MOVQ d_len+8(FP), CX
	SHRQ $4, CX
	JZ   gdone
	VBROADCASTSS vconst<>+40(SB), Z18
	VPXORD Z21, Z21, Z21
gloop:
	VMOVUPS (R9), Z0
	VADDPS Z18, Z0, Z0
	VMOVUPS (R8), Z1
	VCMPPS $0x1e, Z21, Z1, K1
	VMOVAPS Z18, K1, Z0
	VMULPS (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  gloop
gdone:
	VZEROUPPER
	RET

// func nonFiniteAVX512(x []float32) bool
// Reports whether any value of x (len(x) a positive multiple of 64) has
// all exponent bits set (NaN or ±Inf), 64 values per iteration.
TEXT ·nonFiniteAVX512(SB), NOSPLIT, $0-25
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	MOVL $0x7f800000, AX
	VPBROADCASTD AX, Z1
nfloop:
	VPANDD (SI), Z1, Z2
	VPCMPEQD Z1, Z2, K1
	VPANDD 64(SI), Z1, Z3
	VPCMPEQD Z1, Z3, K2
	VPANDD 128(SI), Z1, Z4
	VPCMPEQD Z1, Z4, K3
	VPANDD 192(SI), Z1, Z5
	VPCMPEQD Z1, Z5, K4
	KORW K1, K2, K1
	KORW K3, K4, K3
	KORW K1, K3, K1
	KORTESTW K1, K1
	JNZ nffound
	ADDQ $256, SI
	SUBQ $64, CX
	JNZ nfloop
	MOVB $0, ret+24(FP)
	VZEROUPPER
	RET
nffound:
	MOVB $1, ret+24(FP)
	VZEROUPPER
	RET
