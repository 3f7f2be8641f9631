package dev.kiln.vmm.config;

/** How guest memory is backed: Firecracker's {@code huge_pages} values. */
public enum HugePages {
  /** Regular 4 KiB pages. */
  NONE("None"),
  /** Transparent huge pages, requested with {@code madvise(MADV_HUGEPAGE)}. */
  TRANSPARENT("Transparent"),
  /** Explicit 2 MiB pages from hugetlbfs; the host must have enough of them reserved. */
  HUGE_2M("2M");

  private final String configName;

  HugePages(String configName) {
    this.configName = configName;
  }

  /** Returns the name used in the configuration. */
  public String configName() {
    return configName;
  }

  /**
   * Returns the setting for a configuration value; null means {@link #NONE}.
   *
   * @throws IllegalArgumentException for any other value
   */
  public static HugePages fromName(String name) {
    if (name == null) {
      return NONE;
    }
    for (HugePages h : values()) {
      if (h.configName.equals(name)) {
        return h;
      }
    }
    throw new IllegalArgumentException(name);
  }
}
