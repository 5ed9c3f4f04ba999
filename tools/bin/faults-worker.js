// Loads faults-worker.ts through tsx in a worker process of `mica campaign faults --jobs N`.
import { register } from 'tsx/esm/api';

register();
await import('../src/campaign/faults-worker.ts');
