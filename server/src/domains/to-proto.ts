import type { Domain } from '../../../gen/hypervisor/v1/domain';
import type { DomainRecord } from './domain-registry';

export function toDomainProto(record: DomainRecord): Domain {
  return {
    id: record.id,
    name: record.name,
    // A running domain shows what runs (libvirt's live XML); a stored change applies at the next start.
    spec: record.liveSpec ?? record.spec,
    persistent: record.persistent,
    autostart: record.autostart,
    status: record.status,
    etag: record.etag,
    createTime: record.createTime,
    updateTime: record.updateTime,
  };
}
