// `mica card ...`: the chip's lifecycle (new, issue, dump, verify, inject).
import type { Command } from 'commander';
import { registerCardDump } from './card-dump';
import { registerCardInject } from './card-inject';
import { registerCardIssue } from './card-issue';
import { registerCardNew } from './card-new';
import { registerCardVerify } from './card-verify';

export function registerCard(program: Command): void {
  const card = program
    .command('card')
    .description('manufacture, personalise, inspect and repair card images');
  registerCardNew(card);
  registerCardIssue(card);
  registerCardDump(card);
  registerCardVerify(card);
  registerCardInject(card);
}
