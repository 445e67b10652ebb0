/** The platform images are chosen and built for: this machine's, in the GOARCH spelling. */
const GO_ARCH: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export function goArch(arch: string = process.arch): string {
  return GO_ARCH[arch] ?? arch;
}
