#!/usr/bin/env node
import { Command } from 'commander';
import pino from 'pino';
import { parseRatio, DEFAULT_OVERCOMMIT } from './access';
import { Hvd } from './hvd';

/** Repeatable options collect into a list. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

const program = new Command()
  .name('hvd')
  .description('hv hypervisor service: the gRPC API for domains on this host')
  .option('-s, --socket <path>', 'API unix socket (env HV_SOCKET)', process.env.HV_SOCKET ?? '/run/hv/hvd.sock')
  .option('-r, --run-dir <dir>', 'directory for per-domain engine run directories (env HV_RUN_DIR)', process.env.HV_RUN_DIR ?? '/run/hv/domains')
  .option('--state-dir <dir>', 'directory for the database of persistent domains (env HV_STATE_DIR)', process.env.HV_STATE_DIR ?? '/var/lib/hv')
  .option('--engine <path>', 'compiled engine entry point (default: the one installed beside hvd)')
  .option('--log-level <level>', 'pino log level (env HV_LOG_LEVEL)', process.env.HV_LOG_LEVEL ?? 'info')
  .option('--socket-group <group>', 'group (name or gid) of the main socket, mode 0660 (env HV_SOCKET_GROUP)', process.env.HV_SOCKET_GROUP)
  .option('--ro-socket <path>', 'read-only API socket, mode 0666 (default: beside --socket, hvd-ro.sock; env HV_RO_SOCKET)', process.env.HV_RO_SOCKET)
  .option('--no-ro-socket', 'serve no read-only socket')
  .option('--listen <host:port>', 'also serve the full API on TCP, with mutual TLS only (needs --tls-cert, --tls-key, --tls-ca)')
  .option('--tls-cert <file>', "hvd's TLS certificate (PEM) for --listen")
  .option('--tls-key <file>', "hvd's TLS private key (PEM) for --listen")
  .option('--tls-ca <file>', 'CA certificate(s) (PEM) that sign accepted client certificates')
  .option('--tls-allow <identity>', 'client certificate identity with full access on --listen (CN:<name>, DNS:<name>, URI:<uri>, email:<addr>, IP:<addr>); repeatable', collect, [] as string[])
  .option('--tls-allow-read-only <identity>', 'client certificate identity limited to read-only calls on --listen; repeatable', collect, [] as string[])
  .option('--image-root <dir>', 'directory kernel/initrd/disk images must come from; repeatable (none: paths are not confined to directories)', (dir: string, dirs: string[]) => [...dirs, dir], [] as string[])
  .option('--memory-overcommit <ratio>', 'memory of running domains may reach host memory × ratio', String(DEFAULT_OVERCOMMIT.memory))
  .option('--vcpu-overcommit <ratio>', 'vCPUs of running domains may reach host CPUs × ratio', String(DEFAULT_OVERCOMMIT.vcpu))
  .parse();

const options = program.opts<{
  socket: string;
  runDir: string;
  stateDir: string;
  engine?: string;
  logLevel: string;
  socketGroup?: string;
  roSocket: string | boolean | undefined;
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsAllow: string[];
  tlsAllowReadOnly: string[];
  imageRoot: string[];
  memoryOvercommit: string;
  vcpuOvercommit: string;
}>();
const logger = pino({ name: 'hvd', level: options.logLevel });

function createHvd(): Hvd {
  try {
    return new Hvd({
      socket: options.socket,
      runDir: options.runDir,
      stateDir: options.stateDir,
      engineMain: options.engine,
      access: {
        socketGroup: options.socketGroup,
        // commander: --no-ro-socket → false; no flag → true (the default); --ro-socket p → p.
        roSocket: options.roSocket === false ? false : typeof options.roSocket === 'string' ? options.roSocket : undefined,
        listen: options.listen,
        tls: { cert: options.tlsCert, key: options.tlsKey, ca: options.tlsCa },
        tlsAllow: options.tlsAllow,
        tlsAllowReadOnly: options.tlsAllowReadOnly,
        imageRoots: options.imageRoot,
        overcommit: {
          memory: parseRatio('--memory-overcommit', options.memoryOvercommit),
          vcpu: parseRatio('--vcpu-overcommit', options.vcpuOvercommit),
        },
      },
      logger,
    });
  } catch (err) {
    logger.fatal({ err }, `hvd refused its configuration: ${(err as Error).message}`);
    process.exit(1);
  }
}
const hvd = createHvd();

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
