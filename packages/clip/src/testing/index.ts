export { clipReferenceDir } from './reference.js';
