/*
 * Start-up path of the application processors in the smp guest. A SIPI starts an AP in
 * real mode at the copy of smp_trampoline that the BSP placed below 1 MiB. The trampoline
 * loads the guest's GDT and enters 32-bit protected mode at ap_entry32, which takes a
 * stack and continues through enter_long_mode (lib/pvh_start.S) to ap_main in C.
 */
#include "lib/pvh.h"
#include "smp.h"

#define CR0_PE 1

	/* Copied as bytes to TRAMPOLINE_ADDRESS, so it may only use addresses relative to
	 * its start (through %cs) or absolute addresses in the guest image. */
	.section .rodata.trampoline, "a"
	.code16
	.globl smp_trampoline_start, smp_trampoline_end
smp_trampoline_start:
	cli
	lgdtl %cs:(trampoline_gdt_pointer - smp_trampoline_start)
	movl %cr0, %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $GDT_CODE32, $ap_entry32

	.balign 8
trampoline_gdt_pointer:
	.word GDT_ENTRIES * 8 - 1
	.long gdt
smp_trampoline_end:

	.text
	.code32
ap_entry32:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss

	/* Each AP takes the next stack. An AP beyond AP_STACKS parks. */
	movl $1, %eax
	lock xaddl %eax, ap_stacks_taken
	cmpl $AP_STACKS, %eax
	jae ap_park32
	incl %eax
	imull $AP_STACK_SIZE, %eax
	addl $ap_stacks, %eax
	movl %eax, %esp
	movl $ap_main64, %esi
	jmp enter_long_mode

ap_park32:
	cli
	hlt
	jmp ap_park32

	.code64
ap_main64:
	call ap_main
1:
	cli
	hlt
	jmp 1b

	.section .data
	.balign 4
	.globl ap_stacks_taken
ap_stacks_taken:
	.long 0

	.section .stack, "aw", @nobits
	.balign 16
ap_stacks:
	.skip AP_STACKS * AP_STACK_SIZE

	/* The guest needs no executable stack marking; this keeps ld from warning. */
	.section .note.GNU-stack, "", @progbits
