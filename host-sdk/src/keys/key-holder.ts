// The key holder: the only host component that holds card keys and computes cryptograms, as a secure
// access module does (flows.md 1.1). Terminals relay card frames to it and never see a key.

export interface AuthRequest {
  readonly idm: Uint8Array;
  readonly systemCode: number;
  /** The card's crypto suite: des, 2k3des, 3k3des or aes128. */
  readonly suite: string;
  /** Area codes (FFFFh = the system) and service codes, in command order. */
  readonly areas: readonly number[];
  readonly services: readonly number[];
}

/** The reader side of one authentication and of the secure commands that follow it. */
export interface CryptogramSession {
  /** Pass 2: the readerResponse to the card's challenge. */
  respond(cardChallenge: Uint8Array): Promise<Uint8Array>;
  /** Pass 3: true when the card proved the key; then seal/open work. */
  confirm(cardResponse: Uint8Array): Promise<boolean>;
  /**
   * A secure command: `clear` (LEN ‖ code ‖ IDm ‖ fields sent in clear; LEN is recomputed) followed by
   * `secret` encrypted under KSenc with the current CTR's IV, then the MAC.
   */
  seal(clear: Uint8Array, secret: Uint8Array): Promise<Uint8Array>;
  /**
   * Checks an answer's MAC and moves CTR on. Returns the answer without its MAC, with the bytes from
   * `encryptedFrom` decrypted, or null when the MAC is missing or wrong (treat as no answer: the
   * session is over).
   */
  open(answer: Uint8Array, encryptedFrom: number): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

export interface KeyHolder {
  authenticate(request: AuthRequest): Promise<CryptogramSession>;
}
