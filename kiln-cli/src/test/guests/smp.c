/*
 * smp: a PVH guest that checks the MP table, starts every other CPU listed there with
 * INIT and two SIPIs, and waits for each CPU to report its APIC ids. Then it resets.
 *
 * The MP table layout comes from the "MP Configuration Table" chapter of the Intel
 * MultiProcessor Specification 1.4. The start-up sequence and the local APIC registers come
 * from the "Multiple-Processor Management" and "Advanced Programmable Interrupt Controller"
 * chapters of the Intel SDM, volume 3.
 */
#include "lib/guest.h"
#include "smp.h"

#define LAPIC_BASE 0xfee00000UL
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define SVR_APIC_ENABLE 0x100
#define SVR_SPURIOUS_VECTOR 0xff
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LEVEL_ASSERT 0x4000
#define ICR_DELIVERY_PENDING 0x1000
#define LVT_MASKED 0x10000
#define TIMER_DIVIDE_BY_128 0xa
#define TIMER_DIVISOR 128

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_BSP 0x100

/* Delays of the INIT-SIPI-SIPI sequence that the Intel SDM gives for starting APs. */
#define INIT_DELAY_NS 10000000
#define SIPI_DELAY_NS 200000

/* Maximum time the BSP waits for all APs to report, measured with the local APIC timer. */
#define AP_WAIT_NS 20000000000UL

/* MP floating pointer structure. */
#define MPFP_SIGNATURE "_MP_"
#define MPFP_PHYSPTR 4
#define MPFP_LENGTH 8
#define MPFP_SPEC_REV 9
#define MPFP_FEATURE1 11

/* MP configuration table header. */
#define MPC_SIGNATURE "PCMP"
#define MPC_LENGTH 4
#define MPC_SPEC_REV 6
#define MPC_ENTRY_COUNT 34
#define MPC_LAPIC 36
#define MPC_EXT_LENGTH 40
#define MPC_EXT_CHECKSUM 42
#define MPC_HEADER_SIZE 44

/* MP configuration table entries: type byte and size. */
#define MP_PROCESSOR 0
#define MP_PROCESSOR_SIZE 20
#define MP_OTHER_ENTRY_SIZE 8
#define MP_LAST_ENTRY_TYPE 4
#define CPU_FLAG_ENABLED 0x1
#define CPU_FLAG_BSP 0x2

#define MAX_CPUS (AP_STACKS + 1)

struct mp_cpu {
	uint8_t apic_id;
	uint8_t flags;
};

extern const uint8_t smp_trampoline_start[], smp_trampoline_end[];
extern uint32_t ap_stacks_taken;

static uint32_t print_lock;
static uint32_t cpus_up;

static uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t value)
{
	*(volatile uint32_t *)(LAPIC_BASE + reg) = value;
}

static void lock_print(void)
{
	while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void unlock_print(void)
{
	__atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

/*
 * Starts the local APIC timer as a clock: one-shot, masked, counting down from 2^32 - 1.
 * NOTE: the conversion to nanoseconds assumes KVM's 1 ns APIC bus cycle (its default, unless
 * the VMM sets KVM_CAP_X86_APIC_BUS_CYCLES_NS). The count runs out after about 549 s.
 */
static void clock_start(void)
{
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_128);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INITIAL, 0xffffffffu);
}

static uint64_t clock_ns(void)
{
	return (uint64_t)(0xffffffffu - lapic_read(LAPIC_TIMER_CURRENT)) * TIMER_DIVISOR;
}

static void delay_ns(uint64_t ns)
{
	uint64_t start = clock_ns();

	while (clock_ns() - start < ns)
		cpu_relax();
}

/* Prints this CPU's APIC ids and BSP flag under the print lock and counts it as up. */
static void report_cpu_up(void)
{
	uint32_t eax, ebx, ecx, edx;
	int64_t x2apic_id = -1;

	cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	uint32_t apic_id = ebx >> 24;
	cpuid(0, 0, &eax, &ebx, &ecx, &edx);
	if (eax >= 0xb) {
		cpuid(0xb, 0, &eax, &ebx, &ecx, &edx);
		x2apic_id = edx;
	}
	int bsp = (rdmsr(MSR_APIC_BASE) & APIC_BASE_BSP) != 0;
	lock_print();
	kprintf("kiln-test: cpu up apic=%u x2apic=%ld bsp=%d\n", apic_id, x2apic_id, bsp);
	__atomic_add_fetch(&cpus_up, 1, __ATOMIC_RELEASE);
	unlock_print();
}

/* Called by each AP on its own stack once it is in long mode (smp_ap.S). */
void ap_main(void)
{
	report_cpu_up();
}

static uint8_t checksum(const uint8_t *bytes, size_t length)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < length; i++)
		sum += bytes[i];
	return sum;
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

static const uint8_t *scan_floating_pointer(uintptr_t start, size_t length)
{
	for (uintptr_t address = start; address + 16 <= start + length; address += 16) {
		const uint8_t *candidate = (const uint8_t *)address;
		if (memcmp(candidate, MPFP_SIGNATURE, 4) == 0)
			return candidate;
	}
	return NULL;
}

/*
 * Looks for the MP floating pointer in the areas that the MP specification lists: the last
 * KiB of base memory (0x9fc00, where Kiln puts it at the start of the EBDA) and the BIOS ROM
 * area.
 */
static const uint8_t *find_floating_pointer(void)
{
	const uint8_t *found = scan_floating_pointer(0x9fc00, 0x400);

	if (found == NULL)
		found = scan_floating_pointer(0xf0000, 0x10000);
	return found;
}

/*
 * Validates the MP table, prints what it lists and stores the processor entries in cpus.
 * Returns the number of processor entries, or -1 if there is no usable table.
 */
static int read_mp_table(struct mp_cpu *cpus)
{
	const uint8_t *floating = find_floating_pointer();

	if (floating == NULL) {
		kprintf("kiln-test: mptable not found\n");
		return -1;
	}
	size_t floating_length = floating[MPFP_LENGTH] * 16u;
	int floating_ok = floating_length >= 16 && checksum(floating, floating_length) == 0;
	uint32_t config_address = read32(floating, MPFP_PHYSPTR);
	kprintf("kiln-test: mpfp address=0x%lx length=%u spec_rev=%u feature1=%u checksum=%s "
		"config=0x%x\n",
		(uint64_t)(uintptr_t)floating, floating[MPFP_LENGTH], floating[MPFP_SPEC_REV],
		floating[MPFP_FEATURE1], floating_ok ? "ok" : "bad", config_address);
	if (config_address == 0) {
		kprintf("kiln-test: mptable config table missing\n");
		return -1;
	}

	const uint8_t *config = (const uint8_t *)(uintptr_t)config_address;
	if (memcmp(config, MPC_SIGNATURE, 4) != 0) {
		kprintf("kiln-test: mptable config signature invalid\n");
		return -1;
	}
	uint16_t length = read16(config, MPC_LENGTH);
	uint16_t entry_count = read16(config, MPC_ENTRY_COUNT);
	uint16_t ext_length = read16(config, MPC_EXT_LENGTH);
	int config_ok = length >= MPC_HEADER_SIZE && checksum(config, length) == 0;
	int ext_ok = (uint8_t)(checksum(config + length, ext_length) + config[MPC_EXT_CHECKSUM]) == 0;
	kprintf("kiln-test: mpconfig length=%u spec_rev=%u checksum=%s entry_count=%u "
		"lapic=0x%x ext_length=%u ext_checksum=%s\n",
		length, config[MPC_SPEC_REV], config_ok ? "ok" : "bad", entry_count,
		read32(config, MPC_LAPIC), ext_length, ext_ok ? "ok" : "bad");

	int walked = 0, cpu_count = 0;
	size_t offset = MPC_HEADER_SIZE;
	while (offset < length) {
		uint8_t type = config[offset];
		if (type > MP_LAST_ENTRY_TYPE) {
			kprintf("kiln-test: mptable unknown entry type %u at offset %lu\n", type,
				(uint64_t)offset);
			break;
		}
		size_t size = type == MP_PROCESSOR ? MP_PROCESSOR_SIZE : MP_OTHER_ENTRY_SIZE;
		if (offset + size > length) {
			kprintf("kiln-test: mptable entry at offset %lu overruns the table\n",
				(uint64_t)offset);
			break;
		}
		if (type == MP_PROCESSOR) {
			const uint8_t *entry = config + offset;
			kprintf("kiln-test: mptable cpu apic=%u flags=0x%x\n", entry[1], entry[3]);
			if (cpu_count < MAX_CPUS) {
				cpus[cpu_count].apic_id = entry[1];
				cpus[cpu_count].flags = entry[3];
			}
			cpu_count++;
		}
		offset += size;
		walked++;
	}
	kprintf("kiln-test: mptable entries_walked=%d entry_count=%u end_offset=%lu\n", walked,
		entry_count, (uint64_t)offset);
	kprintf("kiln-test: mptable cpus=%d checksum=%s\n", cpu_count,
		floating_ok && config_ok && ext_ok ? "ok" : "bad");
	if (cpu_count > MAX_CPUS) {
		kprintf("kiln-test: only the first %d cpus fit\n", MAX_CPUS);
		cpu_count = MAX_CPUS;
	}
	return cpu_count;
}

static void send_ipi(uint8_t apic_id, uint32_t command)
{
	lapic_write(LAPIC_ICR_HIGH, (uint32_t)apic_id << 24);
	lapic_write(LAPIC_ICR_LOW, command);
	for (int i = 0; i < 1000 && (lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING); i++)
		cpu_relax();
}

/* INIT, then two STARTUP IPIs whose vector is the trampoline's page number. */
static void start_ap(uint8_t apic_id)
{
	send_ipi(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
	delay_ns(INIT_DELAY_NS);
	for (int i = 0; i < 2; i++) {
		send_ipi(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | (TRAMPOLINE_ADDRESS >> 12));
		delay_ns(SIPI_DELAY_NS);
	}
}

void guest_main(uint32_t start_info_address)
{
	static struct mp_cpu cpus[MAX_CPUS];
	uint32_t eax, ebx, ecx, edx;

	(void)start_info_address;
	lapic_write(LAPIC_SVR, SVR_APIC_ENABLE | SVR_SPURIOUS_VECTOR);
	clock_start();
	lock_print();
	kprintf("kiln-test: apic_base=0x%lx\n", rdmsr(MSR_APIC_BASE));
	if (lapic_read(LAPIC_TIMER_CURRENT) == 0)
		kprintf("kiln-test: lapic timer is not counting\n");
	unlock_print();
	report_cpu_up();

	int cpu_count = read_mp_table(cpus);
	if (cpu_count < 0)
		guest_reset();

	memcpy((void *)TRAMPOLINE_ADDRESS, smp_trampoline_start,
	       (size_t)(smp_trampoline_end - smp_trampoline_start));
	cpuid(1, 0, &eax, &ebx, &ecx, &edx);
	uint8_t bsp_apic_id = (uint8_t)(ebx >> 24);
	int expected = 0, started = 0;
	uint64_t start = clock_ns();
	for (int i = 0; i < cpu_count; i++) {
		if (!(cpus[i].flags & CPU_FLAG_ENABLED))
			continue;
		expected++;
		if (cpus[i].apic_id != bsp_apic_id) {
			start_ap(cpus[i].apic_id);
			started++;
		}
	}
	uint64_t start_ms = (clock_ns() - start) / 1000000;
	lock_print();
	kprintf("kiln-test: sent INIT and SIPIs to %d cpus in %lu ms\n", started, start_ms);
	unlock_print();

	start = clock_ns();
	while (__atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE) < (uint32_t)expected &&
	       clock_ns() - start < AP_WAIT_NS)
		cpu_relax();
	uint64_t waited_ms = (clock_ns() - start) / 1000000;

	uint32_t up = __atomic_load_n(&cpus_up, __ATOMIC_ACQUIRE);
	lock_print();
	kprintf("kiln-test: waited %lu ms for the application processors\n", waited_ms);
	if (up == (uint32_t)expected)
		kprintf("kiln-test: all %d cpus up\n", expected);
	else
		kprintf("kiln-test: only %u of %d cpus up\n", up, expected);
	unlock_print();
	guest_reset();
}
