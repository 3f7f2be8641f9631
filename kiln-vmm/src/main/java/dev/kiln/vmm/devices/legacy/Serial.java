package dev.kiln.vmm.devices.legacy;

import dev.kiln.vmm.devices.BusDevice;
import dev.kiln.vmm.devices.InterruptLine;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A 16550A UART with 64-byte receive FIFO: the guest's serial console. Transmitted bytes go to an
 * output stream at once, so the transmitter is always empty; received bytes come from {@link
 * #receive}. Interrupts are raised for received data and for the transmitter becoming empty when
 * the guest enables them in IER. Register layout from the TI PC16550D datasheet.
 */
public final class Serial implements BusDevice {
  private static final Logger LOG = LoggerFactory.getLogger(Serial.class);

  /** Number of ports the UART decodes. */
  public static final int PORT_COUNT = 8;

  /** Capacity of the receive FIFO. */
  public static final int FIFO_SIZE = 64;

  // Register offsets.
  static final int DATA = 0; // RBR on read, THR on write, DLL with DLAB
  static final int IER = 1; // DLM with DLAB
  static final int IIR = 2; // FCR on write
  static final int LCR = 3;
  static final int MCR = 4;
  static final int LSR = 5;
  static final int MSR = 6;
  static final int SCR = 7;

  static final int IER_RECEIVED_DATA = 0x01;
  static final int IER_THR_EMPTY = 0x02;
  static final int IER_MASK = 0x0f;
  static final int IIR_NONE = 0x01;
  static final int IIR_THR_EMPTY = 0x02;
  static final int IIR_RECEIVED_DATA = 0x04;
  static final int IIR_FIFO_ENABLED = 0xc0;
  static final int FCR_FIFO_ENABLE = 0x01;
  static final int FCR_CLEAR_RECEIVE = 0x02;
  static final int LCR_DLAB = 0x80;
  static final int MCR_LOOPBACK = 0x10;
  static final int LSR_DATA_READY = 0x01;
  static final int LSR_OVERRUN = 0x02;
  static final int LSR_THR_EMPTY = 0x20;
  static final int LSR_TRANSMITTER_EMPTY = 0x40;
  // Without loopback the modem lines read as carrier detect, data set ready and clear to send.
  static final int MSR_DEFAULT = 0xb0;
  static final int DEFAULT_LCR = 0x03; // 8 data bits
  static final int DEFAULT_DIVISOR = 12; // 9600 baud from the 1.8432 MHz clock

  private final InterruptLine interrupt;
  private final OutputStream out;
  private final ArrayDeque<Byte> fifo = new ArrayDeque<>(FIFO_SIZE);
  private final AtomicLong transmitted = new AtomicLong();
  private final AtomicLong outputErrors = new AtomicLong();

  private int ier;
  private int lcr = DEFAULT_LCR;
  private int mcr;
  private int scr;
  private int divisor = DEFAULT_DIVISOR;
  private boolean fifoEnabled;
  private boolean thrEmptyPending;
  private boolean overrun;

  /**
   * @param interrupt the line raised for UART interrupts (IRQ 4 for COM1)
   * @param out where transmitted bytes go; each byte is flushed at once
   */
  public Serial(InterruptLine interrupt, OutputStream out) {
    this.interrupt = interrupt;
    this.out = out;
  }

  @Override
  public synchronized long read(long offset, int size) {
    return switch ((int) offset) {
      case DATA -> (lcr & LCR_DLAB) != 0 ? divisor & 0xff : readReceived();
      case IER -> (lcr & LCR_DLAB) != 0 ? (divisor >>> 8) & 0xff : ier;
      case IIR -> readInterruptIdentification();
      case LCR -> lcr;
      case MCR -> mcr;
      case LSR -> lineStatus();
      case MSR -> modemStatus();
      case SCR -> scr;
      default -> 0xff;
    };
  }

  @Override
  public void write(long offset, int size, long value) {
    boolean raise;
    synchronized (this) {
      raise = writeRegister((int) offset, (int) value & 0xff);
    }
    if (raise) {
      interrupt.trigger();
    }
  }

  private boolean writeRegister(int offset, int value) {
    switch (offset) {
      case DATA -> {
        if ((lcr & LCR_DLAB) != 0) {
          divisor = (divisor & 0xff00) | value;
          return false;
        }
        if ((mcr & MCR_LOOPBACK) != 0) {
          return enqueue((byte) value);
        }
        transmit((byte) value);
        thrEmptyPending = true;
        return (ier & IER_THR_EMPTY) != 0;
      }
      case IER -> {
        if ((lcr & LCR_DLAB) != 0) {
          divisor = (divisor & 0xff) | (value << 8);
          return false;
        }
        int enabled = value & ~ier;
        ier = value & IER_MASK;
        // Enabling the THR-empty interrupt while the transmitter is empty raises it at once.
        if ((enabled & IER_THR_EMPTY) != 0) {
          thrEmptyPending = true;
        }
        return interruptPending();
      }
      case IIR -> {
        fifoEnabled = (value & FCR_FIFO_ENABLE) != 0;
        if ((value & FCR_CLEAR_RECEIVE) != 0) {
          fifo.clear();
          notifyAll();
        }
        return false;
      }
      case LCR -> lcr = value;
      case MCR -> mcr = value;
      case SCR -> scr = value;
      default -> {
        // LSR and MSR are read-only.
      }
    }
    return false;
  }

  private void transmit(byte b) {
    transmitted.incrementAndGet();
    try {
      out.write(b);
      out.flush();
    } catch (IOException e) {
      if (outputErrors.incrementAndGet() == 1) {
        LOG.warn("Serial output failed; later bytes are dropped and counted: {}", e.toString());
      }
    }
  }

  private int readReceived() {
    Byte b = fifo.poll();
    notifyAll();
    return b == null ? 0 : b & 0xff;
  }

  private int readInterruptIdentification() {
    int fifoBits = fifoEnabled ? IIR_FIFO_ENABLED : 0;
    if ((ier & IER_RECEIVED_DATA) != 0 && !fifo.isEmpty()) {
      return IIR_RECEIVED_DATA | fifoBits;
    }
    if ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending) {
      // Reading IIR while it reports THR empty clears that interrupt.
      thrEmptyPending = false;
      return IIR_THR_EMPTY | fifoBits;
    }
    return IIR_NONE | fifoBits;
  }

  private int lineStatus() {
    int lsr = LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY;
    if (!fifo.isEmpty()) {
      lsr |= LSR_DATA_READY;
    }
    if (overrun) {
      lsr |= LSR_OVERRUN;
      overrun = false;
    }
    return lsr;
  }

  private int modemStatus() {
    if ((mcr & MCR_LOOPBACK) == 0) {
      return MSR_DEFAULT;
    }
    // In loopback, DTR/RTS/OUT1/OUT2 (MCR bits 0-3) appear as DSR/CTS/RI/DCD (MSR bits 5,4,6,7).
    int msr = 0;
    msr |= (mcr & 0x01) != 0 ? 0x20 : 0;
    msr |= (mcr & 0x02) != 0 ? 0x10 : 0;
    msr |= (mcr & 0x04) != 0 ? 0x40 : 0;
    msr |= (mcr & 0x08) != 0 ? 0x80 : 0;
    return msr;
  }

  private boolean interruptPending() {
    return ((ier & IER_RECEIVED_DATA) != 0 && !fifo.isEmpty())
        || ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending);
  }

  private boolean enqueue(byte b) {
    if (fifo.size() >= FIFO_SIZE) {
      overrun = true;
      return false;
    }
    fifo.add(b);
    return (ier & IER_RECEIVED_DATA) != 0;
  }

  /**
   * Puts host input into the receive FIFO, waiting while the FIFO is full. Call it from an input
   * thread, never from a vCPU thread.
   *
   * @throws InterruptedException when the waiting thread is interrupted
   */
  public void receive(byte[] data, int length) throws InterruptedException {
    for (int i = 0; i < length; i++) {
      boolean raise;
      synchronized (this) {
        while (fifo.size() >= FIFO_SIZE) {
          wait();
        }
        raise = enqueue(data[i]);
      }
      if (raise) {
        interrupt.trigger();
      }
    }
  }

  /** Returns the count of bytes the guest transmitted. */
  public long transmittedBytes() {
    return transmitted.get();
  }

  /** Returns the count of output failures; the bytes concerned were dropped. */
  public long outputErrors() {
    return outputErrors.get();
  }
}
