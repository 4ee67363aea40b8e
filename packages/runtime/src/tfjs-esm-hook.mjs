// Node module-resolution hook: tfjs-core ships its per-op gradient and chained-op modules only as
// ES modules with extensionless relative imports ("./gradients/Abs_grad"), which Node's ESM
// resolver refuses. For importers inside @tensorflow/* this retries such a specifier with ".js"
// and "/index.js", as bundlers do. Nothing else is touched.
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const fixable = error?.code === 'ERR_MODULE_NOT_FOUND' || error?.code === 'ERR_UNSUPPORTED_DIR_IMPORT';
    if (!fixable || !specifier.startsWith('.') || !context.parentURL?.includes('/node_modules/@tensorflow/')) throw error;
    for (const suffix of ['.js', '/index.js']) {
      try {
        return await next(specifier + suffix, context);
      } catch {
        // try the next form
      }
    }
    throw error;
  }
}
