package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A new statistics polling interval for the balloon ({@code PATCH /balloon/statistics}).
 *
 * @param statsPollingIntervalS seconds between statistics updates; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record BalloonStatsUpdate(
    @JsonProperty("stats_polling_interval_s") Integer statsPollingIntervalS) {}
