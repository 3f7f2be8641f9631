/*
 * Helpers shared by the freestanding test guests: port I/O, the 16550 UART at COM1,
 * a small printf and the i8042 reset that ends a guest.
 */
#ifndef KILN_TEST_GUEST_H
#define KILN_TEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t value;
	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t *eax, uint32_t *ebx,
			 uint32_t *ecx, uint32_t *edx)
{
	__asm__ volatile("cpuid"
			 : "=a"(*eax), "=b"(*ebx), "=c"(*ecx), "=d"(*edx)
			 : "a"(leaf), "c"(subleaf));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t low, high;
	__asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr));
	return ((uint64_t)high << 32) | low;
}

/* Writes one byte to the UART once the transmit holding register is empty. */
void serial_putc(char c);

/* Blocks until the UART has received a byte and returns it. */
char serial_getc(void);

/*
 * Prints to the UART. Supports %s, %c, %d, %u, %x (int-sized) and %ld, %lu, %lx
 * (64-bit). Hex is printed without a prefix or leading zeros.
 */
void kprintf(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Resets the machine through the i8042 (command 0xfe on port 0x64). Never returns. */
void guest_reset(void) __attribute__((noreturn));

void *memcpy(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
