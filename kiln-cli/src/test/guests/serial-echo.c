/*
 * serial-echo: a guest for the Linux 64-bit boot protocol that greets, reads one line from
 * the UART and prints it back, then resets.
 */
#include "lib/guest.h"

/* Maximum number of characters kept from the line. The rest of a longer line is read and
 * dropped. */
#define ECHO_LINE_MAX 200

void guest_main(void *boot_params)
{
	char line[ECHO_LINE_MAX + 1];
	size_t length = 0;

	(void)boot_params;
	kprintf("kiln-test: hello from the guest\n");
	for (;;) {
		char c = serial_getc();
		if (c == '\n')
			break;
		if (c != '\r' && length < ECHO_LINE_MAX)
			line[length++] = c;
	}
	line[length] = '\0';
	kprintf("kiln-test: echo %s\n", line);
	guest_reset();
}
