// Run in a child process by webgpu.ts: asks Dawn (the `webgpu` package) for its best adapter and
// prints one JSON line on stdout. Dawn and the Vulkan loader write their messages to this
// process's stderr, which the parent keeps apart, so a command that does not use webgpu never
// shows them; a driver that crashes takes this process down, not the command.
const print = (o) => process.stdout.write(JSON.stringify(o) + '\n');
try {
  // eslint-disable-next-line @nx/enforce-module-boundaries -- 'webgpu' is an optional dependency (package.json optionalDependencies), loaded only when asked for
  const { create } = await import('webgpu');
  const gpu = create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    print({ adapter: null });
  } else {
    const i = adapter.info ?? {};
    print({
      adapter: {
        vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '',
        isFallbackAdapter: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
        maxBufferSize: Number(adapter.limits?.maxBufferSize ?? 0),
        maxStorageBufferBindingSize: Number(adapter.limits?.maxStorageBufferBindingSize ?? 0),
      },
    });
  }
} catch (e) {
  print({ error: String(e?.message ?? e).split('\n')[0] });
}
process.exit(0);
