import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Mount tests share the kernel's mount table and /dev/fuse; run files one at a time
    // so a slow FUSE mount never races a kernel overlay test for the same tmpdir.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
