#!/usr/bin/env node
import { Command } from 'commander';
import pino from 'pino';
import { Hvd } from './hvd';

const program = new Command()
  .name('hvd')
  .description('hv hypervisor service: the gRPC API for domains on this host')
  .option('-s, --socket <path>', 'API unix socket (env HV_SOCKET)', process.env.HV_SOCKET ?? '/run/hv/hvd.sock')
  .option('-r, --run-dir <dir>', 'directory for per-domain engine run directories (env HV_RUN_DIR)', process.env.HV_RUN_DIR ?? '/run/hv/domains')
  .option('--engine <path>', 'compiled engine entry point (default: the one installed beside hvd)')
  .option('--log-level <level>', 'pino log level (env HV_LOG_LEVEL)', process.env.HV_LOG_LEVEL ?? 'info')
  .parse();

const options = program.opts<{ socket: string; runDir: string; engine?: string; logLevel: string }>();
const logger = pino({ name: 'hvd', level: options.logLevel });
const hvd = new Hvd({ socket: options.socket, runDir: options.runDir, engineMain: options.engine, logger });

hvd.start().catch((err: unknown) => {
  logger.fatal({ err }, 'hvd failed to start');
  process.exit(1);
});

// SIGTERM/SIGINT stop hvd only: detached engines, and so the guests, keep running.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'hvd stopping; domains keep running');
    void hvd.stop().then(() => process.exit(0));
  });
}
