/*
 * zeropage: a guest for the Linux 64-bit boot protocol that prints its entry state and the
 * struct boot_params ("zero page") that Kiln prepared, then resets.
 *
 * Offsets come from Documentation/arch/x86/zero-page.rst and boot.rst in the Linux tree.
 */
#include "lib/guest.h"

#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_BOOT_FLAG 0x1fe
#define BP_HEADER 0x202
#define BP_VERSION 0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS 0x211
#define BP_RAMDISK_IMAGE 0x218
#define BP_RAMDISK_SIZE 0x21c
#define BP_CMD_LINE_PTR 0x228
#define BP_SETUP_DATA 0x250
#define BP_CMDLINE_SIZE 0x238
#define BP_E820_TABLE 0x2d0

/* Capacity of the e820 table in boot_params (E820_MAX_ENTRIES_ZEROPAGE). */
#define E820_MAX_ENTRIES 128
#define E820_ENTRY_SIZE 20

/* x86 Linux's COMMAND_LINE_SIZE. */
#define CMDLINE_MAX 2048

/* Kiln identity-maps only the first 1 GiB, so the guest reads nothing above it. */
#define MAPPED_LIMIT 0x40000000UL

/* Bound on the setup_data list walk, in case the list is circular. */
#define SETUP_DATA_MAX 16

extern uint64_t linux64_entry_rsp, linux64_entry_rflags, linux64_entry_cr0, linux64_entry_cr4;
extern uint16_t linux64_entry_cs, linux64_entry_ds, linux64_entry_es, linux64_entry_ss;

static uint8_t read8(const uint8_t *base, size_t offset)
{
	return base[offset];
}

static uint16_t read16(const uint8_t *base, size_t offset)
{
	uint16_t value;
	memcpy(&value, base + offset, sizeof(value));
	return value;
}

static uint32_t read32(const uint8_t *base, size_t offset)
{
	uint32_t value;
	memcpy(&value, base + offset, sizeof(value));
	return value;
}

static uint64_t read64(const uint8_t *base, size_t offset)
{
	uint64_t value;
	memcpy(&value, base + offset, sizeof(value));
	return value;
}

static int is_mapped(uint64_t address, uint64_t length)
{
	return address < MAPPED_LIMIT && length <= MAPPED_LIMIT - address;
}

static void print_entry_state(const uint8_t *boot_params)
{
	kprintf("kiln-test: rsi=0x%lx\n", (uint64_t)(uintptr_t)boot_params);
	kprintf("kiln-test: rsp=0x%lx rflags=0x%lx\n", linux64_entry_rsp, linux64_entry_rflags);
	kprintf("kiln-test: cs=0x%x ds=0x%x es=0x%x ss=0x%x\n", linux64_entry_cs, linux64_entry_ds,
		linux64_entry_es, linux64_entry_ss);
	kprintf("kiln-test: cr0=0x%lx cr4=0x%lx efer=0x%lx\n", linux64_entry_cr0, linux64_entry_cr4,
		rdmsr(0xc0000080));
}

static void print_header(const uint8_t *boot_params)
{
	kprintf("kiln-test: boot_flag=0x%x\n", read16(boot_params, BP_BOOT_FLAG));
	kprintf("kiln-test: header=0x%x\n", read32(boot_params, BP_HEADER));
	kprintf("kiln-test: version=0x%x\n", read16(boot_params, BP_VERSION));
	kprintf("kiln-test: type_of_loader=0x%x\n", read8(boot_params, BP_TYPE_OF_LOADER));
	kprintf("kiln-test: loadflags=0x%x\n", read8(boot_params, BP_LOADFLAGS));
}

static void print_cmdline(const uint8_t *boot_params)
{
	uint64_t address = read32(boot_params, BP_CMD_LINE_PTR) |
			   (uint64_t)read32(boot_params, BP_EXT_CMD_LINE_PTR) << 32;

	kprintf("kiln-test: cmd_line_ptr=0x%lx cmdline_size=%u\n", address,
		read32(boot_params, BP_CMDLINE_SIZE));
	if (address == 0 || !is_mapped(address, CMDLINE_MAX)) {
		kprintf("kiln-test: cmdline unreadable\n");
		return;
	}
	const char *cmdline = (const char *)(uintptr_t)address;
	kprintf("kiln-test: cmdline=");
	for (size_t i = 0; i < CMDLINE_MAX && cmdline[i] != '\0'; i++)
		serial_putc(cmdline[i]);
	kprintf("\n");
}

/* Prints the ramdisk location and its first 8 bytes, with '.' for unprintable ones. */
static void print_ramdisk(const uint8_t *boot_params)
{
	uint32_t image = read32(boot_params, BP_RAMDISK_IMAGE);
	uint32_t size = read32(boot_params, BP_RAMDISK_SIZE);

	kprintf("kiln-test: ramdisk_image=0x%x ramdisk_size=0x%x\n", image, size);
	if (image == 0 || size < 8 || !is_mapped(image, 8))
		return;
	const uint8_t *head = (const uint8_t *)(uintptr_t)image;
	kprintf("kiln-test: ramdisk_head=");
	for (int i = 0; i < 8; i++)
		serial_putc(head[i] >= 0x20 && head[i] < 0x7f ? (char)head[i] : '.');
	kprintf("\n");
}

static void print_e820(const uint8_t *boot_params)
{
	unsigned count = read8(boot_params, BP_E820_ENTRIES);

	kprintf("kiln-test: e820_entries=%u\n", count);
	if (count > E820_MAX_ENTRIES)
		count = E820_MAX_ENTRIES;
	for (unsigned i = 0; i < count; i++) {
		size_t entry = BP_E820_TABLE + i * E820_ENTRY_SIZE;
		kprintf("kiln-test: e820 0x%lx 0x%lx %u\n", read64(boot_params, entry),
			read64(boot_params, entry + 8), read32(boot_params, entry + 16));
	}
}

/* Prints each entry of the struct setup_data list: u64 next, u32 type, u32 len, then len bytes
 * of data. */
static void print_setup_data(const uint8_t *boot_params)
{
	uint64_t address = read64(boot_params, BP_SETUP_DATA);
	int walked = 0;

	kprintf("kiln-test: setup_data=0x%lx\n", address);
	while (address != 0 && walked < SETUP_DATA_MAX) {
		if (!is_mapped(address, 16)) {
			kprintf("kiln-test: setup_data unreadable at 0x%lx\n", address);
			return;
		}
		const uint8_t *entry = (const uint8_t *)(uintptr_t)address;
		uint32_t type = read32(entry, 8);
		uint32_t length = read32(entry, 12);
		int nonzero = 0;
		if (is_mapped(address + 16, length)) {
			for (uint32_t i = 0; i < length; i++)
				nonzero |= entry[16 + i] != 0;
		}
		kprintf("kiln-test: setup_data type=%u len=%u nonzero=%d\n", type, length, nonzero);
		address = read64(entry, 0);
		walked++;
	}
	if (address != 0)
		kprintf("kiln-test: setup_data list longer than %d entries\n", SETUP_DATA_MAX);
}

void guest_main(const uint8_t *boot_params)
{
	print_entry_state(boot_params);
	if (!is_mapped((uintptr_t)boot_params, 4096)) {
		kprintf("kiln-test: boot_params unreadable\n");
		guest_reset();
	}
	print_header(boot_params);
	print_cmdline(boot_params);
	print_ramdisk(boot_params);
	print_e820(boot_params);
	print_setup_data(boot_params);
	kprintf("kiln-test: done\n");
	guest_reset();
}
