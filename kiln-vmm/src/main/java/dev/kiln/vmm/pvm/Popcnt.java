package dev.kiln.vmm.pvm;

import dev.kiln.kvm.Regs;

/**
 * Decodes and completes {@code popcnt r, r/m} ({@code F3 [REX] 0F B8 /r}, Intel SDM vol. 2B), with
 * register and memory sources, 16-, 32- and 64-bit operands, and 32- or 64-bit addressing.
 */
final class Popcnt {
  private static final int PREFIX_OPERAND_SIZE = 0x66;
  private static final int PREFIX_ADDRESS_SIZE = 0x67;
  private static final int PREFIX_REP = 0xf3;
  private static final int REGISTER_NONE = -1;

  private Popcnt() {}

  static InstructionCompleter.Completion complete(byte[] bytes, Regs regs, GuestCpuView cpu)
      throws UnsupportedInstructionException {
    int at = 0;
    boolean operandSize16 = false;
    boolean addressSizeOverride = false;
    boolean rep = false;
    int segmentPrefix = 0;
    prefixes:
    while (at < bytes.length) {
      int b = bytes[at] & 0xff;
      switch (b) {
        case PREFIX_OPERAND_SIZE -> operandSize16 = true;
        case PREFIX_ADDRESS_SIZE -> addressSizeOverride = true;
        case PREFIX_REP -> rep = true;
        case 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65 -> segmentPrefix = b;
        default -> {
          break prefixes;
        }
      }
      at++;
    }
    int rex = 0;
    if (cpu.longMode() && at < bytes.length && (bytes[at] & 0xf0) == 0x40) {
      rex = bytes[at++] & 0x0f;
    }
    if (!rep
        || at + 3 > bytes.length
        || (bytes[at] & 0xff) != 0x0f
        || (bytes[at + 1] & 0xff) != 0xb8) {
      throw unsupported(bytes, "not an instruction Kiln completes");
    }
    at += 2;
    boolean rexW = (rex & 8) != 0;
    boolean rexR = (rex & 4) != 0;
    boolean rexX = (rex & 2) != 0;
    boolean rexB = (rex & 1) != 0;
    // The code segment sets the default operand size (32 bits in 64-bit and 32-bit segments, 16
    // in 16-bit ones); 0x66 switches between 16 and 32, and REX.W selects 64.
    int defaultSize = cpu.longMode() || cpu.defaultSize32() ? 4 : 2;
    int size = defaultSize;
    if (rexW) {
      size = 8;
    } else if (operandSize16) {
      size = defaultSize == 4 ? 2 : 4;
    }

    int modrm = bytes[at++] & 0xff;
    int mod = modrm >>> 6;
    int reg = ((modrm >>> 3) & 7) | (rexR ? 8 : 0);
    int rm = modrm & 7;

    long source;
    if (mod == 3) {
      source = regs.get(rm | (rexB ? 8 : 0));
    } else {
      int addressBits;
      if (cpu.longMode()) {
        addressBits = addressSizeOverride ? 32 : 64;
      } else if (cpu.defaultSize32() && !addressSizeOverride) {
        addressBits = 32;
      } else {
        throw unsupported(bytes, "16-bit addressing is not supported");
      }
      int base;
      int index = REGISTER_NONE;
      int scale = 1;
      boolean ripRelative = false;
      boolean disp32Only = false;
      if (rm == 4) {
        if (at >= bytes.length) {
          throw unsupported(bytes, "instruction ends inside its SIB byte");
        }
        int sib = bytes[at++] & 0xff;
        scale = 1 << (sib >>> 6);
        int indexField = ((sib >>> 3) & 7) | (rexX ? 8 : 0);
        index = indexField == 4 ? REGISTER_NONE : indexField;
        base = (sib & 7) | (rexB ? 8 : 0);
        if ((sib & 7) == 5 && mod == 0) {
          base = REGISTER_NONE;
          disp32Only = true;
        }
      } else if (rm == 5 && mod == 0) {
        base = REGISTER_NONE;
        ripRelative = cpu.longMode();
        disp32Only = true;
      } else {
        base = rm | (rexB ? 8 : 0);
      }
      long displacement = 0;
      if (mod == 1) {
        if (at >= bytes.length) {
          throw unsupported(bytes, "instruction ends inside its displacement");
        }
        displacement = bytes[at++];
      } else if (mod == 2 || disp32Only) {
        if (at + 4 > bytes.length) {
          throw unsupported(bytes, "instruction ends inside its displacement");
        }
        displacement =
            (bytes[at] & 0xff)
                | (bytes[at + 1] & 0xff) << 8
                | (bytes[at + 2] & 0xff) << 16
                | (bytes[at + 3] & 0xff) << 24;
        at += 4;
      }
      long address = displacement;
      if (base != REGISTER_NONE) {
        address += regs.get(base);
      }
      if (index != REGISTER_NONE) {
        address += regs.get(index) * scale;
      }
      if (ripRelative) {
        address += regs.rip + at;
      }
      if (addressBits == 32) {
        address &= 0xffff_ffffL;
      }
      address += cpu.segmentBase(segmentPrefix);
      byte[] operand = cpu.readVirtual(address, size);
      source = 0;
      for (int i = size - 1; i >= 0; i--) {
        source = (source << 8) | (operand[i] & 0xff);
      }
    }

    long mask = size == 8 ? -1L : (1L << (size * 8)) - 1;
    source &= mask;
    long count = Long.bitCount(source);
    long destination = regs.get(reg);
    regs.set(
        reg,
        switch (size) {
          case 2 -> (destination & ~0xffffL) | count;
          default -> count; // a 32-bit write zero-extends into the full register
        });
    long flags =
        regs.rflags
            & ~(InstructionCompleter.RFLAGS_OF
                | InstructionCompleter.RFLAGS_SF
                | InstructionCompleter.RFLAGS_ZF
                | InstructionCompleter.RFLAGS_AF
                | InstructionCompleter.RFLAGS_CF
                | InstructionCompleter.RFLAGS_PF);
    if (source == 0) {
      flags |= InstructionCompleter.RFLAGS_ZF;
    }
    regs.rflags = flags;
    regs.rip += at;
    return new InstructionCompleter.Completion("popcnt", -1);
  }

  private static UnsupportedInstructionException unsupported(byte[] bytes, String why) {
    return new UnsupportedInstructionException(
        "instruction " + InstructionCompleter.hex(bytes) + ": " + why);
  }
}
