package dev.kiln.vmm.acpi;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class KernelAcpiParameterTest {
  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "console=ttyS0 reboot=k|false",
        "console=ttyS0 acpi=off|true",
        "acpi=off console=ttyS0|true",
        "  acpi=off  |true",
        "acpi=off acpi=force|false",
        "acpi=force acpi=off|true",
        "acpi=strict|false",
        "acpi=offx|false",
        "xacpi=off|false",
        "console=ttyS0 -- acpi=off|false",
        "''|false",
      })
  void disablesAcpi(String cmdline, boolean expected) {
    assertThat(KernelAcpiParameter.disablesAcpi(cmdline)).isEqualTo(expected);
  }
}
