/*
 * pvh-info: a PVH guest that prints its 32-bit entry state and the struct hvm_start_info
 * that Kiln prepared, then resets.
 *
 * Layouts come from xen/include/public/arch-x86/hvm/start_info.h (version 1).
 */
#include "lib/guest.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	/* The fields below exist from version 1 on. */
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define CR0_PG (1u << 31)

/* pvh_start.S maps the first 4 GiB, so the guest reads nothing above it. */
#define MAPPED_LIMIT 0x100000000UL

/* Bounds on what the guest prints, in case a count is garbage. */
#define CMDLINE_MAX 2048
#define MODULES_MAX 8
#define MEMMAP_MAX 128

extern uint32_t pvh_entry_ebx, pvh_entry_eflags, pvh_entry_cr0, pvh_entry_cr4;
extern uint16_t pvh_entry_cs, pvh_entry_ds, pvh_entry_ss;

static int is_mapped(uint64_t address, uint64_t length)
{
	return address < MAPPED_LIMIT && length <= MAPPED_LIMIT - address;
}

static void print_string_at(const char *label, uint64_t address)
{
	if (address == 0 || !is_mapped(address, CMDLINE_MAX)) {
		kprintf("kiln-test: %s unreadable at 0x%lx\n", label, address);
		return;
	}
	const char *s = (const char *)(uintptr_t)address;
	kprintf("kiln-test: %s=", label);
	for (size_t i = 0; i < CMDLINE_MAX && s[i] != '\0'; i++)
		serial_putc(s[i]);
	kprintf("\n");
}

static void print_entry_state(void)
{
	kprintf("kiln-test: ebx=0x%x\n", pvh_entry_ebx);
	kprintf("kiln-test: cr0=0x%x\n", pvh_entry_cr0);
	kprintf("kiln-test: eflags=0x%x\n", pvh_entry_eflags);
	kprintf("kiln-test: cr4=0x%x\n", pvh_entry_cr4);
	kprintf("kiln-test: cs=0x%x ds=0x%x ss=0x%x\n", pvh_entry_cs, pvh_entry_ds, pvh_entry_ss);
	kprintf("kiln-test: paging=%s\n", (pvh_entry_cr0 & CR0_PG) ? "on" : "off");
}

/* Prints each module's location and its first 8 bytes, with '.' for unprintable ones. */
static void print_modules(const struct hvm_start_info *info)
{
	uint32_t count = info->nr_modules;

	kprintf("kiln-test: modlist_paddr=0x%lx\n", info->modlist_paddr);
	if (count > MODULES_MAX)
		count = MODULES_MAX;
	if (count == 0 || !is_mapped(info->modlist_paddr, count * sizeof(struct hvm_modlist_entry)))
		return;
	const struct hvm_modlist_entry *modules =
		(const struct hvm_modlist_entry *)(uintptr_t)info->modlist_paddr;
	for (uint32_t i = 0; i < count; i++) {
		const struct hvm_modlist_entry *module = &modules[i];
		kprintf("kiln-test: module%u paddr=0x%lx size=0x%lx cmdline_paddr=0x%lx\n", i,
			module->paddr, module->size, module->cmdline_paddr);
		if (module->size < 8 || !is_mapped(module->paddr, 8))
			continue;
		const uint8_t *head = (const uint8_t *)(uintptr_t)module->paddr;
		kprintf("kiln-test: module%u head=", i);
		for (int j = 0; j < 8; j++)
			serial_putc(head[j] >= 0x20 && head[j] < 0x7f ? (char)head[j] : '.');
		kprintf("\n");
	}
}

static void print_memmap(const struct hvm_start_info *info)
{
	uint32_t count = info->memmap_entries;

	kprintf("kiln-test: memmap_paddr=0x%lx memmap_entries=%u\n", info->memmap_paddr, count);
	if (count > MEMMAP_MAX)
		count = MEMMAP_MAX;
	if (count == 0 ||
	    !is_mapped(info->memmap_paddr, count * sizeof(struct hvm_memmap_table_entry)))
		return;
	const struct hvm_memmap_table_entry *entries =
		(const struct hvm_memmap_table_entry *)(uintptr_t)info->memmap_paddr;
	for (uint32_t i = 0; i < count; i++)
		kprintf("kiln-test: memmap 0x%lx 0x%lx %u\n", entries[i].addr, entries[i].size,
			entries[i].type);
}

void guest_main(uint32_t start_info_address)
{
	print_entry_state();
	if (!is_mapped(start_info_address, sizeof(struct hvm_start_info))) {
		kprintf("kiln-test: start_info unreadable\n");
		guest_reset();
	}
	const struct hvm_start_info *info =
		(const struct hvm_start_info *)(uintptr_t)start_info_address;
	kprintf("kiln-test: magic=0x%x\n", info->magic);
	kprintf("kiln-test: version=%u\n", info->version);
	kprintf("kiln-test: flags=0x%x\n", info->flags);
	kprintf("kiln-test: nr_modules=%u\n", info->nr_modules);
	kprintf("kiln-test: rsdp_paddr=0x%lx\n", info->rsdp_paddr);
	if (info->magic != HVM_START_MAGIC) {
		kprintf("kiln-test: bad magic\n");
		guest_reset();
	}
	print_modules(info);
	kprintf("kiln-test: cmdline_paddr=0x%lx\n", info->cmdline_paddr);
	print_string_at("cmdline", info->cmdline_paddr);
	if (info->version >= 1)
		print_memmap(info);
	kprintf("kiln-test: done\n");
	guest_reset();
}
