package dev.kiln.vmm.loader;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds small synthetic bzImage files for loader tests: a boot sector with the setup header,
 * {@link #setupSects} setup sectors and then the payload. The defaults match a current x86_64
 * kernel with CONFIG_RELOCATABLE: protocol 2.15, LOADED_HIGH, XLF_KERNEL_64, 2 MiB alignment and a
 * preferred address of 16 MiB.
 */
final class BzImageBuilder {
  /** A jump offset that ends the header at 0x26c, after kernel_info_offset, as in Linux 6.1. */
  static final int JUMP_OFFSET = 0x6a;

  int setupSects = 4;
  int version = 0x020f;
  int loadflags = SetupHeader.LOADED_HIGH;
  int xloadflags = SetupHeader.XLF_KERNEL_64;
  long initrdAddrMax = 0x7fffffffL;
  long kernelAlignment = 0x200000;
  boolean relocatable = true;
  long cmdlineSize = 2047;
  long prefAddress = 0x1000000;
  long initSize = 0x800000;
  int jumpOpcode = SetupHeader.SHORT_JUMP_OPCODE;
  int jumpOffset = JUMP_OFFSET;
  byte[] payload = ElfImageBuilder.pattern(8192, 0x40);

  byte[] build() {
    int setupSize = (setupSects == 0 ? SetupHeader.DEFAULT_SETUP_SECTS : setupSects) + 1;
    ByteBuffer image =
        ByteBuffer.allocate(setupSize * SetupHeader.SECTOR_SIZE + payload.length)
            .order(ByteOrder.LITTLE_ENDIAN);
    image.put(SetupHeader.SETUP_SECTS, (byte) setupSects);
    image.putShort(SetupHeader.BOOT_FLAG, (short) SetupHeader.BOOT_FLAG_MAGIC);
    image.put(SetupHeader.JUMP, (byte) jumpOpcode);
    image.put(SetupHeader.JUMP + 1, (byte) jumpOffset);
    image.putInt(SetupHeader.HEADER, SetupHeader.HEADER_MAGIC);
    image.putShort(SetupHeader.VERSION, (short) version);
    image.put(SetupHeader.LOADFLAGS, (byte) loadflags);
    image.putInt(SetupHeader.INITRD_ADDR_MAX, (int) initrdAddrMax);
    image.putInt(SetupHeader.KERNEL_ALIGNMENT, (int) kernelAlignment);
    image.put(SetupHeader.RELOCATABLE_KERNEL, (byte) (relocatable ? 1 : 0));
    image.putShort(SetupHeader.XLOADFLAGS, (short) xloadflags);
    image.putInt(SetupHeader.CMDLINE_SIZE, (int) cmdlineSize);
    image.putLong(SetupHeader.PREF_ADDRESS, prefAddress);
    image.putInt(SetupHeader.INIT_SIZE, (int) initSize);
    image.put(setupSize * SetupHeader.SECTOR_SIZE, payload);
    return image.array();
  }
}
