package dev.kiln.vmm.devices.legacy;

import dev.kiln.vmm.devices.BusDevice;
import java.time.Clock;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * A minimal MC146818 CMOS real-time clock: an index port (offset 0, port 0x70) and a data port
 * (offset 1, port 0x71). Time registers give the host's UTC time in BCD and 24-hour mode, the
 * update-in-progress bit is never set, and the other 114 bytes are plain CMOS RAM. Linux reads the
 * clock at boot; when the ports read as all ones it sees update-in-progress and polls for up to a
 * second per read. Register numbers from the Motorola MC146818A datasheet.
 */
public final class Rtc implements BusDevice {
  /** The index port. */
  public static final int INDEX_PORT = 0x70;

  /** Number of ports. */
  public static final int PORT_COUNT = 2;

  static final int SECONDS = 0x00;
  static final int MINUTES = 0x02;
  static final int HOURS = 0x04;
  static final int DAY_OF_WEEK = 0x06;
  static final int DAY_OF_MONTH = 0x07;
  static final int MONTH = 0x08;
  static final int YEAR = 0x09;
  static final int STATUS_A = 0x0a;
  static final int STATUS_B = 0x0b;
  static final int STATUS_C = 0x0c;
  static final int STATUS_D = 0x0d;
  static final int CENTURY = 0x32;

  /** Divider 32.768 kHz, rate 1.024 kHz; update-in-progress (bit 7) clear. */
  static final int STATUS_A_VALUE = 0x26;

  /** 24-hour mode; BCD because bit 2 (DM) is clear. */
  static final int STATUS_B_VALUE = 0x02;

  /** Valid RAM and time. */
  static final int STATUS_D_VALUE = 0x80;

  private static final int INDEX_MASK = 0x7f; // bit 7 of the index port masks NMIs

  private final Clock clock;
  private final byte[] ram = new byte[128];
  private int index;

  /**
   * @param clock the time source, {@link Clock#systemUTC()} outside tests
   */
  public Rtc(Clock clock) {
    this.clock = clock;
  }

  @Override
  public synchronized long read(long offset, int size) {
    if (offset == 0) {
      return index;
    }
    ZonedDateTime now = ZonedDateTime.now(clock).withZoneSameInstant(ZoneOffset.UTC);
    return switch (index) {
      case SECONDS -> bcd(now.getSecond());
      case MINUTES -> bcd(now.getMinute());
      case HOURS -> bcd(now.getHour());
      case DAY_OF_WEEK -> bcd(now.getDayOfWeek().getValue() % 7 + 1); // Sunday is 1
      case DAY_OF_MONTH -> bcd(now.getDayOfMonth());
      case MONTH -> bcd(now.getMonthValue());
      case YEAR -> bcd(now.getYear() % 100);
      case CENTURY -> bcd(now.getYear() / 100);
      case STATUS_A -> STATUS_A_VALUE;
      case STATUS_B -> STATUS_B_VALUE;
      case STATUS_C -> 0;
      case STATUS_D -> STATUS_D_VALUE;
      default -> ram[index] & 0xff;
    };
  }

  @Override
  public synchronized void write(long offset, int size, long value) {
    if (offset == 0) {
      index = (int) value & INDEX_MASK;
    } else if (index > STATUS_D && index != CENTURY) {
      // Writes to the clock and status registers are ignored: the guest cannot set host time.
      ram[index] = (byte) value;
    }
  }

  static int bcd(int value) {
    return ((value / 10) << 4) | (value % 10);
  }
}
