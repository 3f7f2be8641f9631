package dev.kiln.vmm.loader;

/**
 * A kernel copied into guest memory, with what the boot vCPU and the boot tables need from it.
 *
 * @param protocol how the boot vCPU must enter the kernel
 * @param entryAddress the guest-physical address where the boot vCPU starts: {@code e_entry} of a
 *     Linux ELF kernel, the {@code XEN_ELFNOTE_PHYS32_ENTRY} address of a PVH kernel, or the load
 *     address plus 0x200 (the 64-bit entry point) of a bzImage
 * @param loadStart the first guest-physical address the kernel occupies
 * @param loadEnd the guest-physical address after the last byte the kernel occupies or needs while
 *     it starts: the end of the highest segment's {@code p_memsz} for ELF, and for a bzImage the
 *     end of its payload or of the {@code init_size} bytes it decompresses into, whichever is
 *     higher
 * @param setupHeader the bzImage setup header, which the zero page must contain; null for ELF
 */
public record LoadedKernel(
    BootProtocol protocol,
    long entryAddress,
    long loadStart,
    long loadEnd,
    SetupHeader setupHeader) {}
