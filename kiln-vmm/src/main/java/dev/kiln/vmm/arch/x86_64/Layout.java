package dev.kiln.vmm.arch.x86_64;

/**
 * Where Kiln puts things in an x86_64 guest's physical address space. RAM starts at 0; the range
 * from {@link #MMIO_START} up to 4 GiB is kept free of RAM for devices, and RAM that does not fit
 * below it continues at 4 GiB. The boot structures sit in the first 640 KiB, which every x86 kernel
 * treats as conventional memory.
 */
public final class Layout {
  /** The global descriptor table used at entry. */
  public static final long GDT_START = 0x500;

  /** An empty interrupt descriptor table used at entry. */
  public static final long IDT_START = 0x520;

  /** {@code struct hvm_start_info} for PVH boots (xen/include/public/arch-x86/hvm/start_info.h). */
  public static final long PVH_INFO_START = 0x6000;

  /** The PVH module list, right after the start info. */
  public static final long PVH_MODLIST_START = 0x6040;

  /** {@code struct setup_data} entries (the random seed) for Linux boots. */
  public static final long SETUP_DATA_START = 0x6000;

  /** The PVH memory map. PVH boots have no zero page, so it shares that page. */
  public static final long PVH_MEMMAP_START = 0x7000;

  /** Linux's {@code struct boot_params}, the "zero page" (Documentation/arch/x86/zero-page.rst). */
  public static final long ZERO_PAGE_START = 0x7000;

  /** The initial stack pointer of the boot vCPU. */
  public static final long BOOT_STACK_POINTER = 0x8ff0;

  /** Level-4 page map of the identity mapping used for 64-bit entry. */
  public static final long PML4_START = 0x9000;

  /** Page-directory-pointer table of the identity mapping. */
  public static final long PDPTE_START = 0xa000;

  /** Page directory of the identity mapping: 512 entries of 2 MiB, the first 1 GiB. */
  public static final long PDE_START = 0xb000;

  /** The kernel command line. */
  public static final long CMDLINE_START = 0x20000;

  /** The largest command line, terminating NUL included: x86 Linux's {@code COMMAND_LINE_SIZE}. */
  public static final int CMDLINE_MAX_SIZE = 2048;

  /** The MP table, at the start of the extended BIOS data area where the MP spec says to look. */
  public static final long MPTABLE_START = 0x9fc00;

  /**
   * The end of conventional memory, where the BIOS area starts. From here to {@link #HIMEM_START}
   * the e820 map reserves the range: it contains the MP table and the ACPI tables.
   */
  public static final long EBDA_START = 0x9fc00;

  /**
   * The ACPI Root System Description Pointer: the start of the BIOS read-only area, on a 16-byte
   * boundary, where a guest that scans 0xe0000 to 0xfffff for it finds it (ACPI 6.5, 5.2.5.1).
   */
  public static final long ACPI_RSDP_START = 0xe0000;

  /** The ACPI tables the RSDP leads to, after the RSDP and up to {@link #HIMEM_START}. */
  public static final long ACPI_TABLES_START = 0xe0040;

  /** The first address above the legacy 1 MiB hole, where kernels are loaded. */
  public static final long HIMEM_START = 0x100000;

  /** The start of the 32-bit device window; RAM above it continues at 4 GiB. */
  public static final long MMIO_START = 0xd000_0000L;

  /** The first address past 32 bits. */
  public static final long FIRST_ADDR_PAST_32BITS = 1L << 32;

  /** Size of one device's MMIO slot. */
  public static final long MMIO_SLOT_SIZE = 0x1000;

  /** The three pages KVM needs for the real-mode TSS on Intel hosts, inside the device window. */
  public static final long KVM_TSS_ADDRESS = 0xfffb_d000L;

  /** The identity-map page KVM needs on Intel hosts, the page before the TSS. */
  public static final long KVM_IDENTITY_MAP_ADDRESS = 0xfffb_c000L;

  /** Base address of the IOAPIC. */
  public static final long IOAPIC_START = 0xfec0_0000L;

  /** Base address of each local APIC. */
  public static final long APIC_START = 0xfee0_0000L;

  /** The IOAPIC pin of the i8042 keyboard controller's keyboard port. */
  public static final int KEYBOARD_IRQ = 1;

  /** The IOAPIC pin of the first serial port. */
  public static final int SERIAL_IRQ = 4;

  /** The number of IOAPIC pins that KVM's in-kernel IOAPIC has. */
  public static final int IOAPIC_PINS = 24;

  private Layout() {}

  /** Returns the end of RAM below the device window for a guest with {@code memorySize} bytes. */
  public static long lowMemoryEnd(long memorySize) {
    return Math.min(memorySize, MMIO_START);
  }
}
