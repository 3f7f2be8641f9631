/*
 * A PVH guest whose first instruction tells Kiln's boot-timer device that it is running: it writes
 * 123 to the first MMIO slot (0xd0000000), then resets through the i8042 (port 0x64, 0xfe).
 * PVH enters in 32-bit protected mode with paging off, so the device address needs no mapping.
 */
	.section .note.Xen, "a"
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_entry

	.text
	.code32
	.globl pvh_entry
pvh_entry:
	movb $123, 0xd0000000
	movb $0xfe, %al
	outb %al, $0x64
1:	hlt
	jmp 1b
