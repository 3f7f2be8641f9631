package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * A new target size for the balloon ({@code PATCH /balloon}).
 *
 * @param amountMib target balloon size in MiB; required
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record BalloonUpdate(@JsonProperty("amount_mib") Integer amountMib) {}
