#!/usr/bin/env node
// The CLI's entry point: `node electron/cli/netboot-composer.ts build ...`.
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
