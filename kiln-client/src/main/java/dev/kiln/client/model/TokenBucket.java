package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A token bucket: {@code size} tokens refilled over {@code refill_time} milliseconds, plus a
 * one-time burst.
 *
 * @param size capacity of the bucket in tokens; required
 * @param oneTimeBurst extra tokens available once, before refilling starts
 * @param refillTime time in milliseconds to refill the bucket from empty; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record TokenBucket(
    @JsonProperty("size") Long size,
    @JsonProperty("one_time_burst") Long oneTimeBurst,
    @JsonProperty("refill_time") Long refillTime) {
  /** Creates a bucket of {@code size} tokens that refills in {@code refillTimeMs} milliseconds. */
  public static TokenBucket of(long size, long refillTimeMs) {
    return new TokenBucket(size, null, refillTimeMs);
  }
}
