#!/usr/bin/env node
// Tier "interop" (interop.md 8): the emulated card inside pcscd through vsmartcard's vpcd, driven by
// opensc-tool, scriptor, pcsc_scan, pyscard and the SDK's pcsc: transport, and libnfc's nfc-list and
// nfc-read-forum-tag3 through `mica serve pn532 --pty`. Runs when CI=true or
// MICA_INTEROP=1 (then it installs what it needs, as root, and never skips); writes
// {"passed": n, "failed": n} to $MICA_TIER_REPORT. The checks are in tools/src/interop/tier.ts.
import { register } from 'tsx/esm/api';

register();
await import('../../src/interop/tier.ts');
