package dev.kiln.client.model;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The guest kernel, its command line and an optional initrd ({@code PUT /boot-source}).
 *
 * @param kernelImagePath host path of the kernel image (ELF vmlinux or bzImage); required
 * @param bootArgs kernel command line, or {@code null} for the server's default
 * @param initrdPath host path of the initrd image, or {@code null} for none
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record BootSource(
    @JsonProperty("kernel_image_path") String kernelImagePath,
    @JsonProperty("boot_args") String bootArgs,
    @JsonProperty("initrd_path") String initrdPath) {
  /** Creates a boot source with the server's default command line and no initrd. */
  public static BootSource of(String kernelImagePath) {
    return new BootSource(kernelImagePath, null, null);
  }

  /** Creates a boot source with the given kernel command line and no initrd. */
  public static BootSource of(String kernelImagePath, String bootArgs) {
    return new BootSource(kernelImagePath, bootArgs, null);
  }
}
