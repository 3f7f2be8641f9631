package dev.kiln.vmm.devices.legacy;

import dev.kiln.vmm.devices.BusDevice;
import java.util.ArrayDeque;

/**
 * The i8042 keyboard controller, reduced to what a microVM needs: the CPU-reset command (0xfe on
 * the command port), which ends the VM, and enough of the controller (status, command byte,
 * self-tests) for a guest driver to probe it. Ports: data at offset 0 (port 0x60), status and
 * command at offset 4 (port 0x64).
 */
public final class I8042 implements BusDevice {
  /** The first port, the data port. */
  public static final int DATA_PORT = 0x60;

  /** The span of ports from the data port to the command port. */
  public static final int PORT_SPAN = 5;

  static final int DATA_OFFSET = 0;
  static final int COMMAND_OFFSET = 4;

  // Controller commands (IBM PS/2 technical reference).
  static final int CMD_READ_COMMAND_BYTE = 0x20;
  static final int CMD_WRITE_COMMAND_BYTE = 0x60;
  static final int CMD_DISABLE_AUX = 0xa7;
  static final int CMD_ENABLE_AUX = 0xa8;
  static final int CMD_TEST_AUX = 0xa9;
  static final int CMD_SELF_TEST = 0xaa;
  static final int CMD_TEST_KEYBOARD = 0xab;
  static final int CMD_DISABLE_KEYBOARD = 0xad;
  static final int CMD_ENABLE_KEYBOARD = 0xae;
  static final int CMD_READ_OUTPUT_PORT = 0xd0;
  static final int CMD_PULSE_RESET = 0xfe;

  static final int STATUS_OUTPUT_FULL = 0x01;
  static final int STATUS_SYSTEM_FLAG = 0x04;
  static final int STATUS_COMMAND = 0x08;
  // Set while the keyboard is not locked; Linux warns "Keylock active" when it is clear.
  static final int STATUS_NOT_INHIBITED = 0x10;
  static final int SELF_TEST_PASSED = 0x55;
  static final int KEYBOARD_ACK = 0xfa;
  static final int COMMAND_BYTE_DEFAULT = 0x45; // keyboard interrupt, system flag, translation

  /**
   * The maximum number of bytes waiting in the output buffer. A real controller holds one; a few
   * more keep replies to quick command sequences, and the bound stops a guest from growing the
   * queue.
   */
  static final int OUTPUT_CAPACITY = 16;

  // Keyboard commands (IBM PS/2 keyboard reference) and their replies.
  static final int KBD_SET_LEDS = 0xed;
  static final int KBD_SET_TYPEMATIC = 0xf3;
  static final int KBD_SCAN_SET = 0xf0;
  static final int KBD_GET_ID = 0xf2;
  static final int KBD_RESET = 0xff;
  static final int KBD_ID_FIRST = 0xab;
  static final int KBD_ID_SECOND = 0x83;
  static final int KBD_SELF_TEST_PASSED = 0xaa;

  /** The command-byte bit that enables the keyboard interrupt (IRQ 1). */
  static final int COMMAND_BYTE_KBD_INTERRUPT = 0x01;

  /** The command-byte bit that makes the controller translate scan code set 2 to set 1. */
  static final int COMMAND_BYTE_TRANSLATE = 0x40;

  // Ctrl, Alt and Delete key presses, in scan code set 1 (translated) and set 2.
  private static final int[] CTRL_ALT_DEL_SET1 = {0x1d, 0x38, 0xe0, 0x53};
  private static final int[] CTRL_ALT_DEL_SET2 = {0x14, 0x11, 0xe0, 0x71};

  private final Runnable reset;
  private final Runnable interrupt;
  private final ArrayDeque<Integer> output = new ArrayDeque<>(OUTPUT_CAPACITY);
  private int commandByte = COMMAND_BYTE_DEFAULT;
  private int lastCommand;
  private boolean expectCommandByte;
  private boolean expectKeyboardArgument;

  /**
   * @param reset called on a vCPU thread when the guest pulses the CPU reset line
   */
  public I8042(Runnable reset) {
    this(reset, () -> {});
  }

  /**
   * @param reset called on a vCPU thread when the guest pulses the CPU reset line
   * @param interrupt raises IRQ 1; called when a byte for the guest arrives while the command byte
   *     enables the keyboard interrupt
   */
  public I8042(Runnable reset, Runnable interrupt) {
    this.reset = reset;
    this.interrupt = interrupt;
  }

  /**
   * Puts the key presses of Ctrl, Alt and Delete in the output buffer and raises IRQ 1, as a
   * keyboard would. A Linux guest restarts on this sequence.
   */
  public void sendCtrlAltDel() {
    boolean raise;
    synchronized (this) {
      int[] codes =
          (commandByte & COMMAND_BYTE_TRANSLATE) != 0 ? CTRL_ALT_DEL_SET1 : CTRL_ALT_DEL_SET2;
      for (int code : codes) {
        put(code);
      }
      raise = (commandByte & COMMAND_BYTE_KBD_INTERRUPT) != 0;
    }
    if (raise) {
      interrupt.run();
    }
  }

  // Drops the byte when the buffer is full, as a controller whose output the guest never reads.
  private void put(int value) {
    if (output.size() < OUTPUT_CAPACITY) {
      output.add(value);
    }
  }

  @Override
  public long read(long offset, int size) {
    if (offset == DATA_OFFSET) {
      boolean raise;
      int value;
      synchronized (this) {
        Integer next = output.poll();
        value = next == null ? 0 : next;
        // A controller interrupts once per byte: the guest's handler reads one byte per
        // interrupt, so the next waiting byte needs an interrupt of its own.
        raise = !output.isEmpty() && (commandByte & COMMAND_BYTE_KBD_INTERRUPT) != 0;
      }
      if (raise) {
        interrupt.run();
      }
      return value;
    }
    return readStatus(offset);
  }

  private synchronized long readStatus(long offset) {
    if (offset == COMMAND_OFFSET) {
      int status =
          STATUS_SYSTEM_FLAG | STATUS_NOT_INHIBITED | (lastCommand != 0 ? STATUS_COMMAND : 0);
      return output.isEmpty() ? status : status | STATUS_OUTPUT_FULL;
    }
    return 0xff;
  }

  @Override
  public void write(long offset, int size, long value) {
    int b = (int) value & 0xff;
    boolean resetRequested = false;
    boolean raise = false;
    synchronized (this) {
      int before = output.size();
      if (offset == COMMAND_OFFSET) {
        lastCommand = b;
        switch (b) {
          case CMD_READ_COMMAND_BYTE -> put(commandByte);
          case CMD_WRITE_COMMAND_BYTE -> expectCommandByte = true;
          case CMD_SELF_TEST -> put(SELF_TEST_PASSED);
          case CMD_TEST_KEYBOARD, CMD_TEST_AUX -> put(0);
          case CMD_READ_OUTPUT_PORT -> put(0x01); // reset line not asserted
          case CMD_PULSE_RESET -> resetRequested = true;
          default -> {
            // Enable and disable commands change nothing a guest can observe here.
          }
        }
      } else if (offset == DATA_OFFSET) {
        if (expectCommandByte) {
          commandByte = b;
          expectCommandByte = false;
        } else {
          keyboardCommand(b);
        }
        lastCommand = 0;
      }
      raise = output.size() > before && (commandByte & COMMAND_BYTE_KBD_INTERRUPT) != 0;
    }
    if (raise) {
      interrupt.run();
    }
    if (resetRequested) {
      reset.run();
    }
  }

  // A byte for the keyboard itself: answer as a PS/2 keyboard with nothing pressed would.
  private void keyboardCommand(int b) {
    put(KEYBOARD_ACK);
    if (expectKeyboardArgument) {
      expectKeyboardArgument = false;
      return;
    }
    switch (b) {
      case KBD_GET_ID -> {
        put(KBD_ID_FIRST);
        put(KBD_ID_SECOND);
      }
      case KBD_RESET -> put(KBD_SELF_TEST_PASSED);
      case KBD_SET_LEDS, KBD_SET_TYPEMATIC, KBD_SCAN_SET -> expectKeyboardArgument = true;
      default -> {
        // Enable, disable and defaults commands only need the acknowledgement.
      }
    }
  }
}
