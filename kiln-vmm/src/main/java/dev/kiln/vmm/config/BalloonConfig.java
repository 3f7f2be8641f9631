package dev.kiln.vmm.config;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The {@code balloon} section: Firecracker's {@code Balloon} definition. Its presence adds a
 * virtio-balloon device, through which the host requests memory back from the guest.
 *
 * @param amountMib the target balloon size in MiB, at most {@code machine-config.mem_size_mib};
 *     required
 * @param deflateOnOom whether the guest may take pages back from the balloon when it runs out of
 *     memory; required
 * @param statsPollingIntervalS seconds between statistics refreshes; 0 (the default) turns the
 *     statistics queue off
 * @param freePageHinting free page hinting; Kiln accepts only false
 * @param freePageReporting free page reporting; Kiln accepts only false
 */
public record BalloonConfig(
    @JsonProperty("amount_mib") Integer amountMib,
    @JsonProperty("deflate_on_oom") Boolean deflateOnOom,
    @JsonProperty("stats_polling_interval_s") Integer statsPollingIntervalS,
    @JsonProperty("free_page_hinting") Boolean freePageHinting,
    @JsonProperty("free_page_reporting") Boolean freePageReporting) {

  /** The maximum {@code stats_polling_interval_s}: Firecracker's BalloonDeviceConfig has a u16. */
  public static final int MAX_STATS_POLLING_INTERVAL_S = 0xffff;

  /** Returns the statistics interval in seconds, 0 when absent. */
  public int statsInterval() {
    return statsPollingIntervalS == null ? 0 : statsPollingIntervalS;
  }

  /** Returns whether the statistics queue is offered: a non-zero interval. */
  public boolean statsEnabled() {
    return statsInterval() > 0;
  }

  /**
   * Checks the section by Firecracker's rules against the machine it belongs to.
   *
   * @param machine the machine configuration, already validated
   * @param source where the configuration came from, for messages
   * @throws ConfigException naming the field, its value and what to change
   */
  public void validate(MachineConfig machine, String source) throws ConfigException {
    if (amountMib == null) {
      throw new ConfigException(
          source + ": missing `balloon.amount_mib`; give the target balloon size in MiB");
    }
    if (deflateOnOom == null) {
      throw new ConfigException(
          source + ": missing `balloon.deflate_on_oom`; set it to true or false");
    }

    if (amountMib < 0) {
      throw new ConfigException(
          String.format("%s: `balloon.amount_mib` is %d; it must be 0 or more", source, amountMib));
    }
    int memoryMib = machine.memSizeMib();
    if (amountMib > memoryMib) {
      throw new ConfigException(
          String.format(
              "%s: `balloon.amount_mib` is %d, more than the guest's %d MiB"
                  + " (`machine-config.mem_size_mib`); lower it",
              source, amountMib, memoryMib));
    }

    int interval = statsInterval();
    if (interval < 0 || interval > MAX_STATS_POLLING_INTERVAL_S) {
      throw new ConfigException(
          String.format(
              "%s: `balloon.stats_polling_interval_s` is %d; it must be between 0 and %d",
              source, interval, MAX_STATS_POLLING_INTERVAL_S));
    }

    if (Boolean.TRUE.equals(freePageHinting)) {
      throw new ConfigException(
          source
              + ": `balloon.free_page_hinting` is not supported by Kiln yet; remove it or set it"
              + " to false");
    }
    if (Boolean.TRUE.equals(freePageReporting)) {
      throw new ConfigException(
          source
              + ": `balloon.free_page_reporting` is not supported by Kiln yet; remove it or set"
              + " it to false");
    }
    // madvise(MADV_DONTNEED) cannot free one 4 KiB page of a hugetlbfs mapping, so inflating
    // would give nothing back. Firecracker rejects the same pairing.
    if (machine.hugePageSetting() == HugePages.HUGE_2M) {
      throw new ConfigException(
          source
              + ": the `balloon` section does not work with `machine-config.huge_pages` \"2M\";"
              + " remove one of them or use \"None\" or \"Transparent\" huge pages");
    }
  }
}
