/* Descriptors of the GDT that lib/pvh_start.S loads, shared with the SMP trampoline. */
#ifndef KILN_TEST_PVH_H
#define KILN_TEST_PVH_H

#define GDT_CODE64 0x08
#define GDT_DATA 0x10
#define GDT_CODE32 0x18
#define GDT_ENTRIES 4

#endif
