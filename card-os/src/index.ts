// card-os: the chip (EEPROM, file system, FeliCa-style command dispatch), synchronous and deterministic.
export { Card, type CardOptions, type CardTraceEvent } from './card';
export { Eeprom, DEFAULT_BLOCKS, DEFAULT_ENDURANCE, type EepromOptions } from './hal/eeprom';
export { MemoryError, PowerLostError } from './hal/errors';
export { parseImage, serializeImage, ImageFormatError } from './hal/image';
export { loadImageFile, saveImageFile } from './hal/image-file';
export { FileSystem } from './fs/fs';
export {
  manufacture,
  defaultIdentity,
  type ManufactureParams,
  type Iso14443Identity,
} from './fs/manufacture';
export { personalise, diversifyingResolver, type KeyResolver } from './fs/personalise';
export { cardImageFromProfile, manufactureFromProfile } from './factory';
export { SeededRandom, SystemRandom, ListRandom, type RandomSource } from './random';
export { CardFrameEndpoint, type AirCard, type FrameEndpointOptions } from './air/frame-endpoint';
