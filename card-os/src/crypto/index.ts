// The chip's crypto: the suites' primitives live in apdu-specs (crypto/, secure/) so that card and host
// run one implementation without host-sdk importing card-os (ARCHITECTURE.md dependency rule).
export * from '@mica/apdu-specs/crypto/index';
export * from '@mica/apdu-specs/secure/suite';
export * from '@mica/apdu-specs/secure/synthesis';
export * from '@mica/apdu-specs/secure/channel';
export * from '@mica/apdu-specs/secure/card-key';
