package dev.kiln.vmm.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RtcTest {
  private static final Instant SATURDAY_AFTERNOON = Instant.parse("2026-03-14T15:09:26Z");

  private final Rtc rtc = new Rtc(Clock.fixed(SATURDAY_AFTERNOON, ZoneOffset.UTC));

  private static int read(Rtc rtc, int register) {
    rtc.write(0, 1, register);
    return (int) rtc.read(1, 1);
  }

  private int read(int register) {
    return read(rtc, register);
  }

  private void write(int register, int value) {
    rtc.write(0, 1, register);
    rtc.write(1, 1, value);
  }

  @Test
  void rtcTimeRegistersInBcd() {
    assertThat(read(0x00)).as("seconds").isEqualTo(0x26);
    assertThat(read(0x02)).as("minutes").isEqualTo(0x09);
    assertThat(read(0x04)).as("hours").isEqualTo(0x15);
  }

  @Test
  void rtcDateRegistersInBcd() {
    assertThat(read(0x06)).as("day of week, Saturday").isEqualTo(0x07);
    assertThat(read(0x07)).as("day of month").isEqualTo(0x14);
    assertThat(read(0x08)).as("month").isEqualTo(0x03);
    assertThat(read(0x09)).as("year").isEqualTo(0x26);
    assertThat(read(0x32)).as("century").isEqualTo(0x20);
  }

  @Test
  void rtcSundayIsDayOne() {
    Rtc sunday = new Rtc(Clock.fixed(Instant.parse("2026-03-15T00:00:00Z"), ZoneOffset.UTC));

    assertThat(read(sunday, 0x06)).isEqualTo(0x01);
  }

  @Test
  void rtcHoursIn24HourMode() {
    Rtc lateEvening = new Rtc(Clock.fixed(Instant.parse("2026-12-31T23:59:58Z"), ZoneOffset.UTC));

    assertThat(read(lateEvening, 0x04)).isEqualTo(0x23);
    assertThat(read(lateEvening, 0x02)).isEqualTo(0x59);
    assertThat(read(lateEvening, 0x00)).isEqualTo(0x58);
    assertThat(read(lateEvening, 0x08)).isEqualTo(0x12);
    assertThat(read(lateEvening, 0x07)).isEqualTo(0x31);
  }

  @Test
  void rtcReportsUtcForZonedClock() {
    Rtc tokyo = new Rtc(Clock.fixed(SATURDAY_AFTERNOON, ZoneId.of("Asia/Tokyo")));

    assertThat(read(tokyo, 0x04)).isEqualTo(0x15);
    assertThat(read(tokyo, 0x07)).isEqualTo(0x14);
  }

  @Test
  void rtcStatusRegisters() {
    assertThat(read(0x0a)).as("status A, update-in-progress clear").isEqualTo(0x26);
    assertThat(read(0x0a) & 0x80).as("UIP").isZero();
    assertThat(read(0x0b)).as("status B, 24-hour BCD").isEqualTo(0x02);
    assertThat(read(0x0c)).as("status C, no interrupt flags").isZero();
    assertThat(read(0x0d)).as("status D, valid RAM and time").isEqualTo(0x80);
  }

  @Test
  void rtcIndexIgnoresNmiMaskBit() {
    assertThat(read(0x80 | 0x00)).as("seconds").isEqualTo(0x26);
    assertThat(read(0x80 | 0x0a)).as("status A").isEqualTo(0x26);
    assertThat(read(0x80 | 0x32)).as("century").isEqualTo(0x20);
  }

  @Test
  void rtcRamWritable() {
    write(0x0e, 0x12);
    write(0x31, 0x34);
    write(0x33, 0x56);
    write(0x7f, 0x78);

    assertThat(read(0x0e)).isEqualTo(0x12);
    assertThat(read(0x31)).isEqualTo(0x34);
    assertThat(read(0x33)).isEqualTo(0x56);
    assertThat(read(0x7f)).isEqualTo(0x78);
  }

  @Test
  void rtcRamWriteThroughMaskedIndex() {
    write(0x80 | 0x40, 0x9a);

    assertThat(read(0x40)).isEqualTo(0x9a);
  }

  @Test
  void rtcRamInitiallyZero() {
    assertThat(read(0x0e)).isZero();
    assertThat(read(0x7f)).isZero();
  }

  @Test
  void rtcTimeRegistersNotWritable() {
    int[] registers = {0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32};
    int[] before = new int[registers.length];
    for (int i = 0; i < registers.length; i++) {
      before[i] = read(registers[i]);
    }

    for (int register : registers) {
      write(register, 0x01);
    }

    for (int i = 0; i < registers.length; i++) {
      assertThat(read(registers[i])).as("register %#x", registers[i]).isEqualTo(before[i]);
    }
  }

  @Test
  void rtcStatusRegistersNotWritable() {
    write(0x0a, 0xa6);
    write(0x0b, 0x06);
    write(0x0d, 0x00);

    assertThat(read(0x0a)).isEqualTo(0x26);
    assertThat(read(0x0b)).isEqualTo(0x02);
    assertThat(read(0x0d)).isEqualTo(0x80);
  }
}
