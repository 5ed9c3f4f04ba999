// host-sdk: the terminal side (transports, clients, key holders); grows with the security issue.
export const HOST_SDK_VERSION = '0.1.0';
