/*
 * lifecycle: a PVH guest that ends its VM in the way its command line asks, so that tests can
 * check how Kiln reacts. kiln.mode= selects:
 *   spin      print a line, then loop forever (the test stops Kiln with a signal)
 *   triple    load an empty IDT and execute ud2: #UD, then #DF, then a triple fault
 *   mmio-exec jump into the unclaimed device window, which no emulator can fetch from
 *   bad-io    hammer ports and MMIO addresses no device claims, then reset
 *   boot-timer write 123 to the boot-timer device (the first MMIO slot), then reset
 */
#include "lib/guest.h"

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
};

/* Firecracker's boot-timer device: the first MMIO slot; writing 123 marks the end of boot. */
#define BOOT_TIMER_MMIO 0xd0000000UL
#define BOOT_TIMER_MAGIC 123

/* An address in the 32-bit device window that no Kiln device claims. */
#define UNCLAIMED_MMIO 0xd0001000UL

static int has_word(const char *cmdline, const char *word)
{
	size_t n = 0;
	while (word[n])
		n++;
	for (const char *p = cmdline; *p; p++) {
		if ((p == cmdline || p[-1] == ' ') && memcmp(p, word, n) == 0 &&
		    (p[n] == ' ' || p[n] == 0))
			return 1;
	}
	return 0;
}

static void triple_fault(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} empty = { 0, 0 };
	kprintf("kiln-test: triple fault next\n");
	__asm__ volatile("lidt %0; ud2" : : "m"(empty));
}

static void bad_io(void)
{
	static uint8_t buffer[4096];
	uint32_t sum = 0;
	/* Single reads and writes on unclaimed ports, all sizes. */
	for (uint16_t port = 0x200; port < 0x240; port++) {
		sum += inb(port);
		outb(port, 0x5a);
		uint32_t value;
		__asm__ volatile("inl %w1, %0" : "=a"(value) : "Nd"(port));
		sum += value;
	}
	/* String I/O with long counts in both directions. */
	__asm__ volatile("rep insb" : "+D"(buffer[0]), "=m"(buffer) : "c"(sizeof(buffer)), "d"(0x2f8)
			 : "memory");
	uint8_t *p = buffer;
	uint64_t count = sizeof(buffer);
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(count) : "d"(0x2f8) : "memory");
	/* MMIO reads and writes of every size on an unclaimed page. */
	volatile uint8_t *b = (volatile uint8_t *)UNCLAIMED_MMIO;
	volatile uint64_t *q = (volatile uint64_t *)UNCLAIMED_MMIO;
	sum += *b;
	*b = 1;
	sum += (uint32_t)*q;
	*q = ~0UL;
	kprintf("kiln-test: bad-io survived, unclaimed port byte reads as %x\n", inb(0x201));
}

void guest_main(struct hvm_start_info *info)
{
	const char *cmdline = (const char *)(uintptr_t)info->cmdline_paddr;
	if (has_word(cmdline, "kiln.mode=spin")) {
		kprintf("kiln-test: spinning\n");
		for (;;)
			cpu_relax();
	}
	if (has_word(cmdline, "kiln.mode=triple"))
		triple_fault();
	if (has_word(cmdline, "kiln.mode=mmio-exec")) {
		kprintf("kiln-test: jumping to unclaimed MMIO\n");
		((void (*)(void))UNCLAIMED_MMIO)();
	}
	if (has_word(cmdline, "kiln.mode=bad-io"))
		bad_io();
	if (has_word(cmdline, "kiln.mode=boot-timer")) {
		kprintf("kiln-test: writing to the boot timer\n");
		*(volatile uint8_t *)BOOT_TIMER_MMIO = BOOT_TIMER_MAGIC;
	}
	guest_reset();
}
