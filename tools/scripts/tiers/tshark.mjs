#!/usr/bin/env node
// Tier "tshark" (rf.md §11.4): mica's captures of a FeliCa payment and APDU sessions decoded by tshark,
// installed from Debian when missing (as root; with CI=true never skipped). Writes {"passed": n,
// "failed": n} to $MICA_TIER_REPORT. The checks are in tools/src/trace/tshark-tier.ts.
import { register } from 'tsx/esm/api';

register();
await import('../../src/trace/tshark-tier.ts');
