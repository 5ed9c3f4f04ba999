// The campaign kinds of `mica campaign`, in help order. A kind is one module; adding one is one line here.
import { attacksCampaign } from './attacks-campaign';
import { faultsCampaign } from './faults-campaign';
import { fuzzCampaign } from './fuzz-campaign';
import type { CampaignKind } from './runner';
import { tearingCampaign } from './tearing-campaign';

/** A kind named in cli.md that cannot run yet: `mica campaign <name>` answers a usage error saying why. */
export interface PendingKind {
  readonly name: string;
  readonly missing: string;
}

export const CAMPAIGN_KINDS: readonly CampaignKind[] = [
  tearingCampaign(),
  fuzzCampaign(),
  attacksCampaign(),
  faultsCampaign(),
];

export const PENDING_KINDS: readonly PendingKind[] = [];
