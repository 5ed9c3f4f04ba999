// The card's answer-to-reset over PC/SC, derived from the ATS's historical bytes (interop.md 3.2). One
// implementation in apdu-specs, shared with the host SDK's rf: transport.
export { atrFromAts, historicalBytes } from '@mica/apdu-specs/apdu/atr';
