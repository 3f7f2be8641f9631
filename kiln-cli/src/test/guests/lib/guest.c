#include "guest.h"

/* COM1 registers of a 16550 UART. */
#define COM1_DATA 0x3f8 /* THR on write, RBR on read */
#define COM1_LSR 0x3fd
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

/* i8042 command port and its "pulse reset line" command. */
#define I8042_COMMAND 0x64
#define I8042_RESET 0xfe

void serial_putc(char c)
{
	while (!(inb(COM1_LSR) & LSR_THR_EMPTY))
		cpu_relax();
	outb(COM1_DATA, (uint8_t)c);
}

char serial_getc(void)
{
	while (!(inb(COM1_LSR) & LSR_DATA_READY))
		cpu_relax();
	return (char)inb(COM1_DATA);
}

static void print_string(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void print_unsigned(uint64_t value, unsigned base)
{
	char digits[24];
	int n = 0;

	do {
		unsigned digit = (unsigned)(value % base);
		digits[n++] = (char)(digit < 10 ? '0' + digit : 'a' + digit - 10);
		value /= base;
	} while (value != 0);
	while (n > 0)
		serial_putc(digits[--n]);
}

void kprintf(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	for (const char *p = format; *p; p++) {
		if (*p != '%') {
			serial_putc(*p);
			continue;
		}
		p++;
		int is_long = 0;
		if (*p == 'l') {
			is_long = 1;
			p++;
		}
		switch (*p) {
		case 's': {
			const char *s = va_arg(args, const char *);
			print_string(s ? s : "(null)");
			break;
		}
		case 'c':
			serial_putc((char)va_arg(args, int));
			break;
		case 'd': {
			int64_t value = is_long ? va_arg(args, int64_t) : va_arg(args, int);
			if (value < 0) {
				serial_putc('-');
				print_unsigned(-(uint64_t)value, 10);
			} else {
				print_unsigned((uint64_t)value, 10);
			}
			break;
		}
		case 'u':
			print_unsigned(is_long ? va_arg(args, uint64_t) : va_arg(args, unsigned), 10);
			break;
		case 'x':
			print_unsigned(is_long ? va_arg(args, uint64_t) : va_arg(args, unsigned), 16);
			break;
		case '%':
			serial_putc('%');
			break;
		case '\0':
			/* A lone '%' at the end of the format string. */
			va_end(args);
			return;
		default:
			serial_putc('%');
			serial_putc(*p);
			break;
		}
	}
	va_end(args);
}

void guest_reset(void)
{
	outb(I8042_COMMAND, I8042_RESET);
	/* hlt does not exit to the VMM under an in-kernel irqchip, so this only parks the CPU
	 * in case the reset is not taken. */
	for (;;)
		__asm__ volatile("cli; hlt");
}

void *memcpy(void *dest, const void *src, size_t n)
{
	unsigned char *d = dest;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dest;
}

void *memset(void *dest, int c, size_t n)
{
	unsigned char *d = dest;

	while (n--)
		*d++ = (unsigned char)c;
	return dest;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++) {
		if (*x != *y)
			return *x - *y;
	}
	return 0;
}
