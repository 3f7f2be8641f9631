package dev.kiln.kvm;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KvmIoctlsTest {
  // Expected values as the C preprocessor expands the macros in linux/kvm.h on x86_64.
  @Test
  void requestNumbersMatchKernelHeaders() {
    assertThat(KvmIoctls.KVM_GET_API_VERSION).isEqualTo(0xAE00L);
    assertThat(KvmIoctls.KVM_CREATE_VM).isEqualTo(0xAE01L);
    assertThat(KvmIoctls.KVM_GET_SUPPORTED_CPUID).isEqualTo(0xC008AE05L);
    assertThat(KvmIoctls.KVM_SET_USER_MEMORY_REGION).isEqualTo(0x4020AE46L);
    assertThat(KvmIoctls.KVM_RUN).isEqualTo(0xAE80L);
    assertThat(KvmIoctls.KVM_GET_REGS).isEqualTo(0x8090AE81L);
    assertThat(KvmIoctls.KVM_SET_SREGS).isEqualTo(0x4138AE84L);
    assertThat(KvmIoctls.KVM_SET_FPU).isEqualTo(0x41A0AE8DL);
    assertThat(KvmIoctls.KVM_SET_LAPIC).isEqualTo(0x4400AE8FL);
    assertThat(KvmIoctls.KVM_SET_CPUID2).isEqualTo(0x4008AE90L);
    assertThat(KvmIoctls.KVM_CREATE_PIT2).isEqualTo(0x4040AE77L);
    assertThat(KvmIoctls.KVM_IRQFD).isEqualTo(0x4020AE76L);
    assertThat(KvmIoctls.KVM_SET_VCPU_EVENTS).isEqualTo(0x4040AEA0L);
    assertThat(KvmIoctls.KVM_TRANSLATE).isEqualTo(0xC018AE85L);
  }

  @Test
  void segmentFromDescriptorDecodesFlatCode() {
    // A flat 64-bit code descriptor: base 0, limit 0xfffff pages, type 0xb, S, P, L, G.
    Segment cs = Segment.fromDescriptor(0x08, 0x00af9b000000ffffL);
    assertThat(cs.base).isZero();
    assertThat(cs.limit).isEqualTo(0xffffffff);
    assertThat(cs.type).isEqualTo((byte) 0xb);
    assertThat(cs.l).isEqualTo((byte) 1);
    assertThat(cs.db).isEqualTo((byte) 0);
    assertThat(cs.present).isEqualTo((byte) 1);
    assertThat(cs.g).isEqualTo((byte) 1);
    assertThat(cs.s).isEqualTo((byte) 1);
  }
}
