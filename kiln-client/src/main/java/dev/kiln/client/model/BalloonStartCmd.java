package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Options of a free page hinting run ({@code PATCH /balloon/hinting/start}).
 *
 * @param acknowledgeOnStop whether the server acknowledges the guest's stop command itself
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record BalloonStartCmd(@JsonProperty("acknowledge_on_stop") Boolean acknowledgeOnStop) {}
