/* Constants shared by smp.c and smp_ap.S. */
#ifndef KILN_TEST_SMP_H
#define KILN_TEST_SMP_H

/* Number of application processors the guest has stacks for, and their size in bytes. */
#define AP_STACKS 63
#define AP_STACK_SIZE 4096

/* Where the BSP copies the real-mode trampoline. It must be a 4 KiB-aligned address below
 * 1 MiB that Kiln leaves free; the SIPI vector is its page number. */
#define TRAMPOLINE_ADDRESS 0x30000

#endif
