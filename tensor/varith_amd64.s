//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 float32 elementwise arithmetic for tensor.binRow: d = a op b
// (VV), d = a op y (VS) and d = x op b (SV), 32 lanes per iteration then 16;
// n is rounded down to a multiple of 16 and the Go caller does the tail.

// func addVV32(d, a, b *float32, n int)
TEXT ·addVV32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VADDPS (DX), Z0, Z0
	VADDPS 64(DX), Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VADDPS (DX), Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func addVS32(d, a *float32, y float32, n int)
TEXT ·addVS32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS y+16(FP), Z2
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VADDPS Z2, Z0, Z0
	VADDPS Z2, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VADDPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func subVV32(d, a, b *float32, n int)
TEXT ·subVV32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VSUBPS (DX), Z0, Z0
	VSUBPS 64(DX), Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VSUBPS (DX), Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func subVS32(d, a *float32, y float32, n int)
TEXT ·subVS32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS y+16(FP), Z2
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VSUBPS Z2, Z0, Z0
	VSUBPS Z2, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VSUBPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func subSV32(d *float32, x float32, b *float32, n int)
TEXT ·subSV32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	VBROADCASTSS x+8(FP), Z2
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VSUBPS (DX), Z2, Z0
	VSUBPS 64(DX), Z2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VSUBPS (DX), Z2, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func mulVV32(d, a, b *float32, n int)
TEXT ·mulVV32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMULPS (DX), Z0, Z0
	VMULPS 64(DX), Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VMULPS (DX), Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func mulVS32(d, a *float32, y float32, n int)
TEXT ·mulVS32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS y+16(FP), Z2
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMULPS Z2, Z0, Z0
	VMULPS Z2, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VMULPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func divVV32(d, a, b *float32, n int)
TEXT ·divVV32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VDIVPS (DX), Z0, Z0
	VDIVPS 64(DX), Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VDIVPS (DX), Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func divVS32(d, a *float32, y float32, n int)
TEXT ·divVS32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ a+8(FP), SI
	VBROADCASTSS y+16(FP), Z2
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VDIVPS Z2, Z0, Z0
	VDIVPS Z2, Z1, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VMOVUPS (SI), Z0
	VDIVPS Z2, Z0, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET

// func divSV32(d *float32, x float32, b *float32, n int)
TEXT ·divSV32(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	VBROADCASTSS x+8(FP), Z2
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT  loop16
	VDIVPS (DX), Z2, Z0
	VDIVPS 64(DX), Z2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $128, DX
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32
loop16:
	CMPQ CX, $16
	JLT  done
	VDIVPS (DX), Z2, Z0
	VMOVUPS Z0, (DI)
done:
	VZEROUPPER
	RET
