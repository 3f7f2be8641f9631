package dev.kiln.vmm.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SerialTest {
  private static final int DATA = 0;
  private static final int IER = 1;
  private static final int IIR = 2;
  private static final int FCR = 2;
  private static final int LCR = 3;
  private static final int MCR = 4;
  private static final int LSR = 5;
  private static final int MSR = 6;
  private static final int SCR = 7;

  private static final int IER_RDA = 0x01;
  private static final int IER_THRE = 0x02;
  private static final int LCR_DLAB = 0x80;
  private static final int LCR_8N1 = 0x03;
  private static final int MCR_LOOPBACK = 0x10;
  private static final int LSR_DR = 0x01;
  private static final int LSR_OE = 0x02;
  private static final int LSR_THRE = 0x20;
  private static final int LSR_TEMT = 0x40;
  private static final long TIMEOUT_MILLIS = 5000;

  private final AtomicInteger interrupts = new AtomicInteger();
  private final ByteArrayOutputStream output = new ByteArrayOutputStream();
  private final Serial serial = new Serial(interrupts::incrementAndGet, output);

  private int read(int register) {
    return (int) serial.read(register, 1);
  }

  private void write(int register, int value) {
    serial.write(register, 1, value);
  }

  private void receive(String text) throws InterruptedException {
    byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
    serial.receive(bytes, bytes.length);
  }

  /** Waits until {@code thread} blocks or ends, failing the test after the timeout. */
  private static void awaitBlocked(Thread thread) throws InterruptedException {
    long deadline = System.nanoTime() + TIMEOUT_MILLIS * 1_000_000;
    while (thread.getState() != Thread.State.WAITING && thread.isAlive()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("thread neither blocked nor ended: " + thread.getState());
      }
      Thread.sleep(5);
    }
  }

  private static byte[] sequence(int length) {
    byte[] bytes = new byte[length];
    for (int i = 0; i < length; i++) {
      bytes[i] = (byte) (i + 1);
    }
    return bytes;
  }

  @Test
  void serialThrWriteGoesToOutput() {
    write(DATA, 'h');
    write(DATA, 'i');

    assertThat(output.toString(StandardCharsets.US_ASCII)).isEqualTo("hi");
    assertThat(serial.transmittedBytes()).isEqualTo(2);
  }

  @Test
  void serialLsrTransmitterAlwaysEmpty() {
    assertThat(read(LSR)).isEqualTo(LSR_THRE | LSR_TEMT);

    write(DATA, 'x');

    assertThat(read(LSR)).isEqualTo(LSR_THRE | LSR_TEMT);
  }

  @Test
  void serialDivisorLatchDefault() {
    write(LCR, LCR_DLAB | LCR_8N1);

    assertThat(read(DATA)).as("DLL: 9600 baud").isEqualTo(12);
    assertThat(read(IER)).as("DLM").isZero();
  }

  @Test
  void serialDivisorLatchReadsBack() {
    write(LCR, LCR_DLAB | LCR_8N1);
    write(DATA, 0x01);
    write(IER, 0x02);

    assertThat(read(DATA)).as("DLL").isEqualTo(0x01);
    assertThat(read(IER)).as("DLM").isEqualTo(0x02);
    assertThat(read(LCR)).isEqualTo(LCR_DLAB | LCR_8N1);
  }

  @Test
  void serialDlabWritesNotOutput() {
    write(LCR, LCR_DLAB | LCR_8N1);
    write(DATA, 'x');
    write(IER, 0x0f);

    assertThat(output.size()).isZero();
    assertThat(serial.transmittedBytes()).isZero();
    assertThat(interrupts.get()).as("DLM write must not enable interrupts").isZero();
  }

  @Test
  void serialDlabClearedRestoresRegisters() {
    write(IER, IER_RDA);
    write(LCR, LCR_DLAB | LCR_8N1);
    write(DATA, 0x03);
    write(LCR, LCR_8N1);

    write(DATA, 'y');

    assertThat(read(IER)).isEqualTo(IER_RDA);
    assertThat(output.toString(StandardCharsets.US_ASCII)).isEqualTo("y");
  }

  @Test
  void serialIerMaskedToLowBits() {
    // Linux's 8250 driver (autoconfig_16550a) takes a UART whose IER bit 6 sticks for an XScale.
    write(IER, 0xff);

    assertThat(read(IER)).isEqualTo(0x0f);
  }

  @Test
  void serialIirNoInterrupt() {
    assertThat(read(IIR)).isEqualTo(0x01);
  }

  @Test
  void serialIirFifoBitsAfterEnable() {
    write(FCR, 0x01);

    assertThat(read(IIR)).isEqualTo(0xc1);
  }

  @Test
  void serialIirFifoBitsAfterDisable() {
    write(FCR, 0x01);
    write(FCR, 0x00);

    assertThat(read(IIR)).isEqualTo(0x01);
  }

  @Test
  void serialThreEnableRaisesInterrupt() {
    write(IER, IER_THRE);

    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(read(IIR)).as("first read").isEqualTo(0x02);
    assertThat(read(IIR)).as("second read").isEqualTo(0x01);
  }

  @Test
  void serialThreReenableNoSecondInterrupt() {
    write(IER, IER_THRE);
    read(IIR);

    write(IER, IER_THRE);

    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(read(IIR)).isEqualTo(0x01);
  }

  @Test
  void serialThrWriteRaisesThre() {
    write(IER, IER_THRE);
    read(IIR);

    write(DATA, 'x');

    assertThat(interrupts.get()).isEqualTo(2);
    assertThat(read(IIR)).isEqualTo(0x02);
  }

  @Test
  void serialThrWriteWithoutIerNoInterrupt() {
    write(DATA, 'x');

    assertThat(interrupts.get()).isZero();
    assertThat(read(IIR)).isEqualTo(0x01);
  }

  @Test
  void serialReceiveSetsDataReady() throws InterruptedException {
    receive("a");

    assertThat(read(LSR) & LSR_DR).isEqualTo(LSR_DR);
    assertThat(interrupts.get()).as("RDA interrupt disabled").isZero();
    assertThat(read(IIR)).isEqualTo(0x01);
  }

  @Test
  void serialReceiveRaisesRdaInterrupt() throws InterruptedException {
    write(IER, IER_RDA);

    receive("a");

    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(read(IIR)).isEqualTo(0x04);
  }

  @Test
  void serialRdaEnableWithPendingData() throws InterruptedException {
    receive("a");

    write(IER, IER_RDA);

    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(read(IIR)).isEqualTo(0x04);
  }

  @Test
  void serialRdaBeforeThre() throws InterruptedException {
    write(IER, IER_RDA | IER_THRE);
    receive("a");

    assertThat(read(IIR)).as("received data first").isEqualTo(0x04);
    read(DATA);
    assertThat(read(IIR)).as("then the transmitter").isEqualTo(0x02);
    assertThat(read(IIR)).as("then nothing").isEqualTo(0x01);
  }

  @Test
  void serialRbrDrainsInOrder() throws InterruptedException {
    receive("abc");

    assertThat(read(DATA)).isEqualTo('a');
    assertThat(read(DATA)).isEqualTo('b');
    assertThat(read(DATA)).isEqualTo('c');
    assertThat(read(LSR) & LSR_DR).as("data ready after draining").isZero();
    assertThat(read(DATA)).as("empty RBR").isZero();
  }

  @Test
  void serialReceiveHonorsLength() throws InterruptedException {
    serial.receive(new byte[] {'a', 'b', 'c'}, 2);

    assertThat(read(DATA)).isEqualTo('a');
    assertThat(read(DATA)).isEqualTo('b');
    assertThat(read(LSR) & LSR_DR).isZero();
  }

  @Test
  void serialFifoHolds64Bytes() throws InterruptedException {
    byte[] bytes = sequence(Serial.FIFO_SIZE);
    Thread receiver = Thread.ofPlatform().start(() -> receiveUninterrupted(bytes));

    receiver.join(TIMEOUT_MILLIS);

    assertThat(receiver.isAlive()).as("64 bytes fit without blocking").isFalse();
    for (int i = 0; i < Serial.FIFO_SIZE; i++) {
      assertThat(read(DATA)).as("byte %d", i).isEqualTo(i + 1);
    }
  }

  @Test
  void serialReceiveBlocksWhenFull() throws InterruptedException {
    byte[] bytes = sequence(Serial.FIFO_SIZE + 1);
    Thread receiver = Thread.ofPlatform().start(() -> receiveUninterrupted(bytes));

    awaitBlocked(receiver);
    assertThat(receiver.isAlive()).as("receiver blocked on the 65th byte").isTrue();

    assertThat(read(DATA)).isEqualTo(1);
    receiver.join(TIMEOUT_MILLIS);

    assertThat(receiver.isAlive()).as("receiver done after the guest read").isFalse();
    for (int i = 1; i <= Serial.FIFO_SIZE; i++) {
      assertThat(read(DATA)).as("byte %d", i).isEqualTo(i + 1);
    }
    assertThat(read(LSR) & LSR_OE).as("no overrun").isZero();
  }

  @Test
  void serialReceiveInterruptible() throws InterruptedException {
    byte[] bytes = sequence(Serial.FIFO_SIZE + 1);
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread receiver =
        Thread.ofPlatform()
            .start(
                () -> {
                  try {
                    serial.receive(bytes, bytes.length);
                  } catch (InterruptedException e) {
                    thrown.set(e);
                  }
                });
    awaitBlocked(receiver);

    receiver.interrupt();
    receiver.join(TIMEOUT_MILLIS);

    assertThat(receiver.isAlive()).isFalse();
    assertThat(thrown.get()).isInstanceOf(InterruptedException.class);
  }

  private void receiveUninterrupted(byte[] bytes) {
    try {
      serial.receive(bytes, bytes.length);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Test
  void serialFcrClearEmptiesFifo() throws InterruptedException {
    receive("abc");

    write(FCR, 0x03);

    assertThat(read(LSR) & LSR_DR).isZero();
    assertThat(read(DATA)).isZero();
  }

  @Test
  void serialFcrClearReleasesBlockedReceiver() throws InterruptedException {
    byte[] bytes = sequence(Serial.FIFO_SIZE + 1);
    Thread receiver = Thread.ofPlatform().start(() -> receiveUninterrupted(bytes));
    awaitBlocked(receiver);

    write(FCR, 0x03);
    receiver.join(TIMEOUT_MILLIS);

    assertThat(receiver.isAlive()).isFalse();
    assertThat(read(DATA)).as("only the last byte remains").isEqualTo(Serial.FIFO_SIZE + 1);
    assertThat(read(LSR) & LSR_DR).isZero();
  }

  @Test
  void serialLoopbackRoutesThrToRbr() {
    write(MCR, MCR_LOOPBACK);

    write(DATA, 'z');

    assertThat(output.size()).as("nothing transmitted").isZero();
    assertThat(read(LSR) & LSR_DR).isEqualTo(LSR_DR);
    assertThat(read(DATA)).isEqualTo('z');
  }

  @Test
  void serialLoopbackRaisesRdaInterrupt() {
    write(IER, IER_RDA);
    write(MCR, MCR_LOOPBACK);

    write(DATA, 'z');

    assertThat(interrupts.get()).isEqualTo(1);
    assertThat(read(IIR)).isEqualTo(0x04);
  }

  @Test
  void serialLoopbackOverrunSetsLsr() {
    write(MCR, MCR_LOOPBACK);
    for (int i = 0; i <= Serial.FIFO_SIZE; i++) {
      write(DATA, i);
    }

    assertThat(read(LSR) & LSR_OE).as("first read").isEqualTo(LSR_OE);
    assertThat(read(LSR) & LSR_OE).as("cleared by reading LSR").isZero();
  }

  @Test
  void serialLoopbackMapsModemLines() {
    int[][] mcrToMsr = {
      {0x01, 0x20}, // DTR to DSR
      {0x02, 0x10}, // RTS to CTS
      {0x04, 0x40}, // OUT1 to RI
      {0x08, 0x80}, // OUT2 to DCD
      {0x0f, 0xf0},
      {0x00, 0x00},
    };
    for (int[] pair : mcrToMsr) {
      write(MCR, MCR_LOOPBACK | pair[0]);

      assertThat(read(MSR) & 0xf0).as("MSR for MCR %#x", pair[0]).isEqualTo(pair[1]);
    }
  }

  @Test
  void serialMsrDefault() {
    assertThat(read(MSR)).isEqualTo(0xb0);
  }

  @Test
  void serialMsrDefaultAfterLoopbackOff() {
    write(MCR, MCR_LOOPBACK | 0x0f);
    write(MCR, 0x0b);

    assertThat(read(MSR)).isEqualTo(0xb0);
    assertThat(read(MCR)).isEqualTo(0x0b);
  }

  @Test
  void serialScratchRegister() {
    write(SCR, 0x5a);

    assertThat(read(SCR)).isEqualTo(0x5a);
  }

  @Test
  void serialLcrReadsBack() {
    assertThat(read(LCR)).as("default").isEqualTo(LCR_8N1);

    write(LCR, 0x1b);

    assertThat(read(LCR)).isEqualTo(0x1b);
  }

  @Test
  void serialOutputErrorCounted() {
    OutputStream failing =
        new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            throw new IOException("broken pipe");
          }
        };
    Serial broken = new Serial(interrupts::incrementAndGet, failing);

    broken.write(DATA, 1, 'a');
    broken.write(DATA, 1, 'b');

    assertThat(broken.outputErrors()).isEqualTo(2);
    assertThat(broken.transmittedBytes()).isEqualTo(2);
  }
}
