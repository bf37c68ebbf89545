import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { readExitRecord, readLaunch, runDirAt } from '../../../engine/src/control/run-dir';
import { EngineProcess } from '../engine/engine-process';
import { newRecord, type DomainManager } from './domain-manager';

/**
 * hvd start-up after a restart or a crash (libvirt's promise: guests never notice hvd going away):
 *   1. load the stored definitions;
 *   2. for every engine run directory: reattach to a live engine (transient domains are known from its launch
 *      file), or settle an engine that ended while hvd was down from its exit record (powered off, crashed, …),
 *      applying the lifecycle action as if hvd had seen it end;
 *   3. start persistent domains marked autostart that are not running.
 */
export async function recover(manager: DomainManager, runRoot: string, logger: Logger): Promise<void> {
  manager.loadStored();
  const entries = fs.existsSync(runRoot) ? fs.readdirSync(runRoot) : [];
  for (const entry of entries) {
    const runDir = runDirAt(path.join(runRoot, entry));
    let launch;
    try {
      launch = readLaunch(runDir);
    } catch {
      logger.warn({ dir: runDir.dir }, 'removing a run directory without a readable launch file');
      fs.rmSync(runDir.dir, { recursive: true, force: true });
      continue;
    }
    let record = manager.registry.find(launch.domainId);
    if (!record) {
      record = newRecord(launch.spec, false, false);
      manager.registry.add(record);
    }
    const engine = EngineProcess.attach(runDir);
    if (engine) {
      try {
        await manager.adopt(record, engine);
        continue;
      } catch (err) {
        logger.error({ err, domain: record.name }, 'engine is alive but does not answer; killing it');
        engine.kill();
        await engine.exited;
      }
    }
    manager.settleEndedWhileAway(record, { record: readExitRecord(runDir), code: null, signal: null });
    fs.rmSync(runDir.dir, { recursive: true, force: true });
  }
  for (const record of manager.registry.list()) {
    if (!record.persistent || !record.autostart || record.engine || record.starting) continue;
    await manager.start(record.id).catch((err: unknown) => logger.error({ err, domain: record.name }, 'autostart failed'));
  }
}
