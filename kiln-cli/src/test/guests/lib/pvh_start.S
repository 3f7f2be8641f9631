/*
 * Entry for guests booted through Xen's PVH boot ABI: the CPU is in 32-bit protected mode
 * with paging off and flat CS/DS/ES/SS, and %ebx contains the address of struct
 * hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h). The entry point is
 * published in an ELF note.
 *
 * pvh_entry records the entry state in pvh_entry_*, switches to long mode with an
 * identity map of the first 4 GiB (so the local APIC at 0xfee00000 is reachable), clears
 * .bss and calls guest_main(start_info). If guest_main returns, the guest resets.
 *
 * enter_long_mode is shared with application processors, which reach it from their
 * real-mode trampoline.
 */

/* Note type of the 32-bit physical entry point, from xen/include/public/elfnote.h. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#include "pvh.h"

#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)

	.section .note.Xen, "a", @note
	.balign 4
	.long 4				/* n_namesz: "Xen" and its NUL */
	.long 4				/* n_descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY	/* n_type */
	.asciz "Xen"
	.balign 4
	.long pvh_entry
	.balign 4

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	/* PVH gives no stack. Loading %esp keeps EFLAGS, so pushfl records the entry value. */
	movl $boot_stack_top, %esp
	pushfl
	popl pvh_entry_eflags
	movl %ebx, pvh_entry_ebx
	movl %cr0, %eax
	movl %eax, pvh_entry_cr0
	movl %cr4, %eax
	movl %eax, pvh_entry_cr4
	movw %cs, pvh_entry_cs
	movw %ds, pvh_entry_ds
	movw %ss, pvh_entry_ss
	cli
	cld
	movl $pvh_main64, %esi
	jmp enter_long_mode

/*
 * Switches a CPU in 32-bit protected mode to long mode and jumps to the 64-bit address in
 * %esi. %esp must point to the CPU's stack, and %ebx and %ebp are kept. Clobbers %eax,
 * %ecx and %edx.
 */
	.globl enter_long_mode
enter_long_mode:
	lgdtl gdt_pointer
	ljmpl $GDT_CODE32, $1f
1:
	movl $GDT_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmpl $GDT_CODE64, $2f

	.code64
2:
	/* The upper halves of the registers are undefined after the switch, and 32-bit moves
	 * clear them. */
	movl %esi, %esi
	movl %esp, %esp
	movl %ebx, %ebx
	jmp *%rsi

pvh_main64:
	movq $__bss_start, %rdi
	movq $__bss_end, %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb

	movl pvh_entry_ebx, %edi
	call guest_main
	call guest_reset

	/* The descriptors and their order must match GDT_* in pvh.h. */
	.section .rodata
	.balign 8
	.globl gdt
gdt:
	.quad 0				/* null descriptor */
	.quad 0x00af9a000000ffff	/* GDT_CODE64: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* GDT_DATA: flat 4 GiB data, read/write */
	.quad 0x00cf9a000000ffff	/* GDT_CODE32: flat 4 GiB 32-bit code */
gdt_end:
	.if gdt_end - gdt - GDT_ENTRIES * 8
	.error "GDT_ENTRIES in pvh.h does not match the GDT"
	.endif

	.balign 8
gdt_pointer:
	.word GDT_ENTRIES * 8 - 1
	.long gdt

/*
 * Identity map of the first 4 GiB with 2 MiB pages: one PML4 entry, four PDPT entries and
 * four page directories. The last GiB holds the APIC and other devices, so its pages are
 * uncached (PCD and PWT set).
 */
#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_LARGE 0x80

	.section .data.page_tables, "aw"
	.balign 4096
pml4:
	.quad pdpt + PTE_PRESENT + PTE_WRITE
	.fill 511, 8, 0
pdpt:
	.quad page_directories + 0x0000 + PTE_PRESENT + PTE_WRITE
	.quad page_directories + 0x1000 + PTE_PRESENT + PTE_WRITE
	.quad page_directories + 0x2000 + PTE_PRESENT + PTE_WRITE
	.quad page_directories + 0x3000 + PTE_PRESENT + PTE_WRITE
	.fill 508, 8, 0
page_directories:
	.set page, 0
	.rept 1536
	.quad (page << 21) + PTE_PRESENT + PTE_WRITE + PTE_LARGE
	.set page, page + 1
	.endr
	.rept 512
	.quad (page << 21) + PTE_PRESENT + PTE_WRITE + PTE_LARGE + PTE_PWT + PTE_PCD
	.set page, page + 1
	.endr

	/* Entry state, in .data so that clearing .bss keeps it. */
	.section .data
	.balign 4
	.globl pvh_entry_ebx, pvh_entry_eflags, pvh_entry_cr0, pvh_entry_cr4
	.globl pvh_entry_cs, pvh_entry_ds, pvh_entry_ss
pvh_entry_ebx:		.long 0
pvh_entry_eflags:	.long 0
pvh_entry_cr0:		.long 0
pvh_entry_cr4:		.long 0
pvh_entry_cs:		.word 0
pvh_entry_ds:		.word 0
pvh_entry_ss:		.word 0

	.section .stack, "aw", @nobits
	.balign 16
	.skip 16384
boot_stack_top:

	/* The guest needs no executable stack marking; this keeps ld from warning. */
	.section .note.GNU-stack, "", @progbits
