package dev.kiln.vmm.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** The {@code balloon} section is Firecracker's {@code Balloon} definition. */
class BalloonConfigTest {
  private static final String SOURCE = "vm.json";

  /** Returns a config with a 128 MiB machine and the given balloon body. */
  private static String withBalloon(String machineExtra, String body) {
    return "{\"boot-source\": {\"kernel_image_path\": \"vmlinux\"},"
        + " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128"
        + machineExtra
        + "}, \"balloon\": {"
        + body
        + "}}";
  }

  private static VmConfig parse(String body) throws ConfigException {
    return VmConfigParser.parse(withBalloon("", body), SOURCE);
  }

  private static AbstractThrowableAssert<?, ? extends Throwable> assertRejected(String json) {
    return assertThatThrownBy(() -> VmConfigParser.parse(json, SOURCE))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(SOURCE);
  }

  @Test
  void requiredFieldsParsed() throws ConfigException {
    BalloonConfig balloon = parse("\"amount_mib\": 64, \"deflate_on_oom\": true").balloon();

    assertThat(balloon.amountMib()).isEqualTo(64);
    assertThat(balloon.deflateOnOom()).isTrue();
    assertThat(balloon.statsInterval()).isZero();
    assertThat(balloon.statsEnabled()).isFalse();
  }

  @Test
  void allFieldsParsed() throws ConfigException {
    BalloonConfig balloon =
        parse(
                "\"amount_mib\": 0, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 5,"
                    + " \"free_page_hinting\": false, \"free_page_reporting\": false")
            .balloon();

    assertThat(balloon.statsInterval()).isEqualTo(5);
    assertThat(balloon.statsEnabled()).isTrue();
  }

  @Test
  void amountEqualToMemoryAccepted() throws ConfigException {
    assertThat(parse("\"amount_mib\": 128, \"deflate_on_oom\": false").balloon().amountMib())
        .isEqualTo(128);
  }

  @Test
  void missingAmountRejected() {
    assertRejected(withBalloon("", "\"deflate_on_oom\": false"))
        .hasMessageContaining("missing `balloon.amount_mib`");
  }

  @Test
  void missingDeflateOnOomRejected() {
    assertRejected(withBalloon("", "\"amount_mib\": 1"))
        .hasMessageContaining("missing `balloon.deflate_on_oom`");
  }

  @Test
  void negativeAmountRejected() {
    assertRejected(withBalloon("", "\"amount_mib\": -1, \"deflate_on_oom\": false"))
        .hasMessageContaining("`balloon.amount_mib` is -1");
  }

  @Test
  void amountAboveMemoryRejected() {
    assertRejected(withBalloon("", "\"amount_mib\": 129, \"deflate_on_oom\": false"))
        .hasMessageContaining("`balloon.amount_mib` is 129, more than the guest's 128 MiB");
  }

  @Test
  void statsIntervalOutOfRangeRejected() {
    assertRejected(
            withBalloon(
                "",
                "\"amount_mib\": 1, \"deflate_on_oom\": false, \"stats_polling_interval_s\":"
                    + " 65536"))
        .hasMessageContaining("`balloon.stats_polling_interval_s` is 65536");
    assertRejected(
            withBalloon(
                "",
                "\"amount_mib\": 1, \"deflate_on_oom\": false, \"stats_polling_interval_s\": -1"))
        .hasMessageContaining("`balloon.stats_polling_interval_s` is -1");
  }

  @Test
  void freePageHintingRejected() {
    assertRejected(
            withBalloon(
                "", "\"amount_mib\": 1, \"deflate_on_oom\": false, \"free_page_hinting\": true"))
        .hasMessageContaining("`balloon.free_page_hinting` is not supported by Kiln yet");
  }

  @Test
  void freePageReportingRejected() {
    assertRejected(
            withBalloon(
                "", "\"amount_mib\": 1, \"deflate_on_oom\": false, \"free_page_reporting\": true"))
        .hasMessageContaining("`balloon.free_page_reporting` is not supported by Kiln yet");
  }

  @Test
  void hugePages2mRejected() {
    assertRejected(
            withBalloon(", \"huge_pages\": \"2M\"", "\"amount_mib\": 1, \"deflate_on_oom\": false"))
        .hasMessageContaining("does not work with `machine-config.huge_pages` \"2M\"");
  }

  @Test
  void unknownFieldRejected() {
    assertRejected(withBalloon("", "\"amount_mib\": 1, \"deflate_on_oom\": false, \"size\": 1"))
        .hasMessageContaining("unknown field `size`");
  }

  @Test
  void stringAmountRejected() {
    assertRejected(withBalloon("", "\"amount_mib\": \"1\", \"deflate_on_oom\": false"))
        .hasMessageContaining("`balloon.amount_mib`")
        .hasMessageContaining("it must be an integer");
  }
}
