#!/usr/bin/env node
/**
 * The engine process: serves one domain. Started by hvd as `node main.js <run-dir>`, detached in its own process
 * group, it reads domain.json, builds and boots the VM, serves EngineService on the run dir's control socket, and
 * writes its final status to exit.json before it exits — so hvd can die and come back without the guest noticing.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import pino from 'pino';
import { StopCause, type GuestStop, type WatchEventsResponse } from '../../gen/hypervisor/engine/v1/engine_service';
import { DomainState, DomainStateReason } from '../../gen/hypervisor/v1/domain';
import { startControlServer } from './control/control-server';
import { readLaunch, runDirAt, writeExitRecord } from './control/run-dir';
import { Vm } from './vm/vm';

/** How long clients get to receive the last console output before the engine exits anyway. */
const SHUTDOWN_GRACE_MS = 2000;

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: engine <run-dir>');
  const runDir = runDirAt(dir);
  fs.writeFileSync(runDir.pid, `${process.pid}\n`);
  const launch = readLaunch(runDir);
  const logger = pino({ name: 'engine', base: { domain: launch.spec.name, pid: process.pid } }, pino.destination(2));

  let vm: Vm;
  try {
    vm = await Vm.create({ domainId: launch.domainId, spec: launch.spec, logger, files: launch.files });
  } catch (err) {
    const message = `engine could not set up the guest: ${(err as Error).message}`;
    logger.error({ err }, message);
    writeExitRecord(runDir, guestStop(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_FAILED, message, StopCause.STOP_CAUSE_FAILED));
    process.exit(1);
  }

  // WatchEvents subscribers: a preserved guest, reboots in place, device failures.
  const events = new EventEmitter<{ event: [WatchEventsResponse] }>();
  vm.on('preserved', (stop) => events.emit('event', { kind: { $case: 'preserved', value: stop } }));
  vm.on('rebooted', (status) => events.emit('event', { kind: { $case: 'rebooted', value: status } }));
  vm.on('deviceNeedsReset', (deviceId, message) => events.emit('event', { kind: { $case: 'deviceFailure', value: { deviceId, message } } }));
  const server = await startControlServer(runDir.socket, {
    domainId: launch.domainId,
    spec: launch.spec,
    console: (device) => vm.consoleFor(device),
    balloon: vm.balloon,
    status: () => vm.status(),
    preserved: () => vm.preserved,
    watch: (listener) => {
      events.on('event', listener);
      return () => events.off('event', listener);
    },
    counters: () => ({ vcpuExits: vm.vcpuExits, consoleBytesOut: vm.console.bytesOut }),
    pause: () => vm.pause(),
    resume: (reason) => vm.resume(reason),
    pressPowerButton: () => vm.pressPowerButton(),
    reset: () => vm.reset(),
  });

  vm.once('stopped', (final) => {
    const { state, reason, message } = final.status!;
    logger.info({ state: DomainState[state], reason: DomainStateReason[reason], message, cause: StopCause[final.cause] }, 'guest stopped');
    writeExitRecord(runDir, final);
    const exit = () => {
      fs.rmSync(runDir.socket, { force: true });
      process.exit(0);
    };
    // Let console streams deliver their last bytes, but never hang on a stuck client.
    setTimeout(() => {
      server.forceShutdown();
      exit();
    }, SHUTDOWN_GRACE_MS).unref();
    server.tryShutdown(exit);
  });
  // SIGTERM is a destroy that lets the engine record it; hvd's DestroyDomain uses SIGKILL on the process group.
  process.once('SIGTERM', () =>
    vm.stop(guestStop(DomainState.DOMAIN_STATE_SHUTOFF, DomainStateReason.DOMAIN_STATE_REASON_DESTROYED, 'engine received SIGTERM').status!, StopCause.STOP_CAUSE_DESTROY),
  );
  logger.info({ socket: runDir.socket }, 'engine ready; vCPUs paused until hvd resumes them');
}

function guestStop(state: DomainState, reason: DomainStateReason, message: string, cause = StopCause.STOP_CAUSE_UNSPECIFIED): GuestStop {
  return { status: { state, reason, stateTime: new Date(), enginePid: 0, guestExitStatus: undefined, message }, cause };
}

main().catch((err: unknown) => {
  process.stderr.write(`engine failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
