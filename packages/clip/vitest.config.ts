import { packageTestConfig } from '../../vitest.shared.js';

// webgpu: OpenAI's references (model.test.ts) on the webgpu backend as well
export default packageTestConfig({ also: { webgpu: ['src/model.test.ts'] } });
