// Every command of the CLI, registered in help order.
import type { Command } from 'commander';
import { registerCard } from './card';
import { registerConformance } from './conformance';
import { registerDemo } from './demo';
import { registerFelica } from './felica';
import { registerBackend } from './backend';
import { registerBench } from './bench';
import { registerCampaign } from './campaign';
import { registerReference } from './reference';
import { registerRf } from './rf';
import { registerRun } from './run';
import { registerServe } from './serve';
import { registerTrace } from './trace';

export function registerCommands(program: Command): void {
  registerCard(program);
  registerFelica(program);
  registerConformance(program);
  registerDemo(program);
  registerBackend(program);
  registerBench(program);
  registerCampaign(program);
  registerReference(program);
  registerRf(program);
  registerRun(program);
  registerServe(program);
  registerTrace(program);
}
