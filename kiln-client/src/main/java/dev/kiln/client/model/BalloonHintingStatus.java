package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The state of free page hinting ({@code GET /balloon/hinting/status}).
 *
 * @param hostCmd the last command the host issued
 * @param guestCmd the last command the guest issued
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record BalloonHintingStatus(
    @JsonProperty("host_cmd") Long hostCmd, @JsonProperty("guest_cmd") Long guestCmd) {}
