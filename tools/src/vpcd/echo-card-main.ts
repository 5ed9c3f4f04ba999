// The echo card on a vpcd slot (the bench's reference for the PC/SC round trip): answers each APDU with
// the APDU ‖ 9000 until SIGTERM. Usage: echo-card-main.ts <vpcd port>
import { VpcdCardLink } from './card-link';
import { EchoCard } from './served-cards';

const link = new VpcdCardLink(new EchoCard(), {
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? 35964),
  retryMs: 50,
  connectTimeoutMs: 30_000,
});
process.once('SIGTERM', () => void link.stop());
await link.run();
