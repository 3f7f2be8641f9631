/*
 * Entry for guests booted with the Linux 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): the CPU is in long mode
 * with an identity map, interrupts off, and %rsi holds the address of struct boot_params.
 *
 * Records the entry state in linux64_entry_* for the guest to print, switches to the
 * guest's own stack, clears .bss and calls guest_main(boot_params). If guest_main returns,
 * the guest resets.
 */

	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	movq %rsp, linux64_entry_rsp
	movq %rsi, linux64_entry_rsi
	/* pushfq writes 8 bytes below the entry stack pointer, which must be RAM anyway. */
	pushfq
	popq linux64_entry_rflags
	movw %cs, linux64_entry_cs
	movw %ds, linux64_entry_ds
	movw %es, linux64_entry_es
	movw %ss, linux64_entry_ss
	movq %cr0, %rax
	movq %rax, linux64_entry_cr0
	movq %cr4, %rax
	movq %rax, linux64_entry_cr4

	cld
	movq $boot_stack_top, %rsp

	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb

	movq linux64_entry_rsi, %rdi
	call guest_main
	call guest_reset

	/* Entry state, in .data so that clearing .bss keeps it. */
	.section .data
	.balign 8
	.globl linux64_entry_rsp, linux64_entry_rsi, linux64_entry_rflags
	.globl linux64_entry_cr0, linux64_entry_cr4
	.globl linux64_entry_cs, linux64_entry_ds, linux64_entry_es, linux64_entry_ss
linux64_entry_rsp:	.quad 0
linux64_entry_rsi:	.quad 0
linux64_entry_rflags:	.quad 0
linux64_entry_cr0:	.quad 0
linux64_entry_cr4:	.quad 0
linux64_entry_cs:	.word 0
linux64_entry_ds:	.word 0
linux64_entry_es:	.word 0
linux64_entry_ss:	.word 0

	.section .stack, "aw", @nobits
	.balign 16
	.skip 16384
boot_stack_top:

	/* The guest needs no executable stack marking; this keeps ld from warning. */
	.section .note.GNU-stack, "", @progbits
