// x86 CPU features libvirt and QEMU spell differently
// (qemu_capabilities.c virQEMUCapsCPUFeaturesX86); all others share one name.

const LIBVIRT_TO_QEMU: Readonly<Record<string, string>> = {
  cmp_legacy: 'cmp-legacy', ds_cpl: 'ds-cpl', fxsr_opt: 'fxsr-opt', kvm_pv_eoi: 'kvm-pv-eoi',
  kvm_pv_unhalt: 'kvm-pv-unhalt', lahf_lm: 'lahf-lm', nodeid_msr: 'nodeid-msr', pclmuldq: 'pclmulqdq',
  perfctr_core: 'perfctr-core', perfctr_nb: 'perfctr-nb', tsc_adjust: 'tsc-adjust',
};

const QEMU_TO_LIBVIRT: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(LIBVIRT_TO_QEMU).map(([libvirt, qemu]) => [qemu, libvirt]),
);

export function x86FeatureToQemu(name: string): string {
  return LIBVIRT_TO_QEMU[name] ?? name;
}

export function x86FeatureFromQemu(name: string): string {
  return QEMU_TO_LIBVIRT[name] ?? name;
}
