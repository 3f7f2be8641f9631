package dev.kiln.vmm.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class I8042Test {
  private static final int DATA = 0;
  private static final int COMMAND = 4;
  private static final int STATUS_OUTPUT_FULL = 0x01;
  private static final int STATUS_SYSTEM_FLAG = 0x04;
  private static final int STATUS_COMMAND = 0x08;

  private final AtomicInteger resets = new AtomicInteger();
  private final I8042 controller = new I8042(resets::incrementAndGet);

  private int status() {
    return (int) controller.read(COMMAND, 1);
  }

  private int data() {
    return (int) controller.read(DATA, 1);
  }

  @Test
  void i8042PulseResetCallsCallback() {
    controller.write(COMMAND, 1, 0xfe);

    assertThat(resets.get()).isEqualTo(1);
  }

  @Test
  void i8042ResetOnDataPortIgnored() {
    controller.write(DATA, 1, 0xfe);

    assertThat(resets.get()).isZero();
    assertThat(data()).as("keyboard ACK").isEqualTo(0xfa);
  }

  @Test
  void i8042OtherCommandsDoNotReset() {
    for (int command : new int[] {0x20, 0xa7, 0xa8, 0xaa, 0xad, 0xae, 0xd0, 0xff}) {
      controller.write(COMMAND, 1, command);
    }

    assertThat(resets.get()).isZero();
  }

  @Test
  void i8042StatusInitiallyEmpty() {
    assertThat(status() & STATUS_OUTPUT_FULL).isZero();
    assertThat(status() & STATUS_SYSTEM_FLAG).isEqualTo(STATUS_SYSTEM_FLAG);
  }

  @Test
  void i8042SelfTestReturns55() {
    controller.write(COMMAND, 1, 0xaa);

    assertThat(status() & STATUS_OUTPUT_FULL).as("before the read").isEqualTo(1);
    assertThat(data()).isEqualTo(0x55);
    assertThat(status() & STATUS_OUTPUT_FULL).as("after the read").isZero();
  }

  @Test
  void i8042ReadCommandByteDefault() {
    controller.write(COMMAND, 1, 0x20);

    assertThat(data()).isEqualTo(0x45);
  }

  @Test
  void i8042WriteCommandByteReadsBack() {
    controller.write(COMMAND, 1, 0x60);
    controller.write(DATA, 1, 0x30);

    controller.write(COMMAND, 1, 0x20);

    assertThat(data()).isEqualTo(0x30);
  }

  @Test
  void i8042CommandByteWriteNotAcked() {
    controller.write(COMMAND, 1, 0x60);
    controller.write(DATA, 1, 0x30);

    assertThat(status() & STATUS_OUTPUT_FULL).isZero();
  }

  @Test
  void i8042KeyboardCommandAcked() {
    controller.write(DATA, 1, 0xf4);

    assertThat(status() & STATUS_OUTPUT_FULL).isEqualTo(1);
    assertThat(data()).isEqualTo(0xfa);
    assertThat(status() & STATUS_OUTPUT_FULL).isZero();
  }

  @Test
  void i8042InterfaceTestsPass() {
    controller.write(COMMAND, 1, 0xab);
    controller.write(COMMAND, 1, 0xa9);

    assertThat(data()).as("keyboard interface test").isZero();
    assertThat(data()).as("auxiliary interface test").isZero();
    assertThat(status() & STATUS_OUTPUT_FULL).isZero();
  }

  @Test
  void i8042ReadOutputPort() {
    controller.write(COMMAND, 1, 0xd0);

    assertThat(data()).as("reset line not asserted").isEqualTo(0x01);
  }

  @Test
  void i8042OutputQueuedInOrder() {
    controller.write(COMMAND, 1, 0xaa);
    controller.write(COMMAND, 1, 0x20);

    assertThat(data()).isEqualTo(0x55);
    assertThat(data()).isEqualTo(0x45);
  }

  @Test
  void i8042StatusShowsLastWriteTarget() {
    controller.write(COMMAND, 1, 0xad);
    assertThat(status() & STATUS_COMMAND).as("after a command").isEqualTo(STATUS_COMMAND);

    controller.write(DATA, 1, 0xf4);
    assertThat(status() & STATUS_COMMAND).as("after data").isZero();
  }

  @Test
  void i8042EmptyDataReadsZero() {
    assertThat(data()).isZero();
  }

  @Test
  void outputBufferBoundedUnderFlood() {
    I8042 controller = new I8042(() -> {});
    for (int i = 0; i < 100_000; i++) {
      controller.write(DATA, 1, 0xf4); // a keyboard command the controller acknowledges
    }
    int drained = 0;
    while ((controller.read(COMMAND, 1) & STATUS_OUTPUT_FULL) != 0) {
      controller.read(DATA, 1);
      drained++;
    }
    assertThat(drained).isEqualTo(I8042.OUTPUT_CAPACITY);
  }

  private final AtomicInteger interrupts = new AtomicInteger();
  private final I8042 keyboard = new I8042(() -> {}, interrupts::incrementAndGet);

  private List<Integer> drain(I8042 device) {
    List<Integer> bytes = new ArrayList<>();
    while ((device.read(COMMAND, 1) & STATUS_OUTPUT_FULL) != 0) {
      bytes.add((int) device.read(DATA, 1));
    }
    return bytes;
  }

  @Test
  void getIdAnswersAsAnMf2Keyboard() {
    keyboard.write(DATA, 1, 0xf2);

    assertThat(drain(keyboard)).containsExactly(0xfa, 0xab, 0x83);
  }

  @Test
  void keyboardResetReportsSelfTestPassed() {
    keyboard.write(DATA, 1, 0xff);

    assertThat(drain(keyboard)).containsExactly(0xfa, 0xaa);
  }

  @Test
  void ledArgumentIsAcknowledgedNotRunAsACommand() {
    keyboard.write(DATA, 1, 0xed);
    keyboard.write(DATA, 1, 0xff); // LED bits, not a reset

    assertThat(drain(keyboard)).containsExactly(0xfa, 0xfa);
  }

  @Test
  void ctrlAltDelUsesSetOneWhenTranslating() {
    keyboard.sendCtrlAltDel();

    assertThat(drain(keyboard)).containsExactly(0x1d, 0x38, 0xe0, 0x53);
  }

  @Test
  void ctrlAltDelUsesSetTwoWithoutTranslation() {
    keyboard.write(COMMAND, 1, 0x60);
    keyboard.write(DATA, 1, 0x05); // keyboard interrupt and system flag, no translation

    keyboard.sendCtrlAltDel();

    assertThat(drain(keyboard)).containsExactly(0x14, 0x11, 0xe0, 0x71);
  }

  @Test
  void everyWaitingByteGetsItsOwnInterrupt() {
    keyboard.sendCtrlAltDel();
    assertThat(interrupts.get()).isEqualTo(1);

    drain(keyboard);

    // One for the sequence, then one after each read that leaves a byte waiting.
    assertThat(interrupts.get()).isEqualTo(4);
  }

  @Test
  void noInterruptWhileTheCommandByteDisablesIt() {
    keyboard.write(COMMAND, 1, 0x60);
    keyboard.write(DATA, 1, 0x44); // translation and system flag, keyboard interrupt off

    keyboard.sendCtrlAltDel();
    drain(keyboard);
    keyboard.write(DATA, 1, 0xf2);

    assertThat(interrupts.get()).isZero();
  }
}
