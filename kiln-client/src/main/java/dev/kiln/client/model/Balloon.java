package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A virtio-balloon device ({@code /balloon}).
 *
 * @param amountMib target balloon size in MiB; required
 * @param deflateOnOom whether the guest may deflate the balloon under memory pressure; required
 * @param statsPollingIntervalS seconds between statistics updates; 0 turns statistics off
 * @param freePageHinting whether free page hinting is on
 * @param freePageReporting whether free page reporting is on
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Balloon(
    @JsonProperty("amount_mib") Integer amountMib,
    @JsonProperty("deflate_on_oom") Boolean deflateOnOom,
    @JsonProperty("stats_polling_interval_s") Integer statsPollingIntervalS,
    @JsonProperty("free_page_hinting") Boolean freePageHinting,
    @JsonProperty("free_page_reporting") Boolean freePageReporting) {
  /** Creates a balloon of {@code amountMib} MiB with statistics and page hints off. */
  public static Balloon of(int amountMib, boolean deflateOnOom) {
    return builder().amountMib(amountMib).deflateOnOom(deflateOnOom).build();
  }

  /** Creates a builder with every field unset. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder of {@link Balloon}; fields left unset are omitted from the JSON. */
  public static final class Builder {
    private Integer amountMib;
    private Boolean deflateOnOom;
    private Integer statsPollingIntervalS;
    private Boolean freePageHinting;
    private Boolean freePageReporting;

    private Builder() {}

    /** Sets the target balloon size in MiB. */
    public Builder amountMib(Integer amountMib) {
      this.amountMib = amountMib;
      return this;
    }

    /** Sets whether the guest may deflate the balloon under memory pressure. */
    public Builder deflateOnOom(Boolean deflateOnOom) {
      this.deflateOnOom = deflateOnOom;
      return this;
    }

    /** Sets the seconds between statistics updates. */
    public Builder statsPollingIntervalS(Integer statsPollingIntervalS) {
      this.statsPollingIntervalS = statsPollingIntervalS;
      return this;
    }

    /** Sets whether free page hinting is on. */
    public Builder freePageHinting(Boolean freePageHinting) {
      this.freePageHinting = freePageHinting;
      return this;
    }

    /** Sets whether free page reporting is on. */
    public Builder freePageReporting(Boolean freePageReporting) {
      this.freePageReporting = freePageReporting;
      return this;
    }

    /** Creates the {@link Balloon}. */
    public Balloon build() {
      return new Balloon(
          amountMib, deflateOnOom, statsPollingIntervalS, freePageHinting, freePageReporting);
    }
  }
}
