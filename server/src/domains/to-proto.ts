import type { Domain } from '../../../gen/hypervisor/v1/domain';
import type { DomainRecord } from './domain-registry';

export function toDomainProto(record: DomainRecord): Domain {
  return {
    id: record.id,
    name: record.name,
    spec: record.spec,
    persistent: record.persistent,
    autostart: record.autostart,
    status: record.status,
    etag: record.etag,
    createTime: record.createTime,
    updateTime: record.updateTime,
  };
}
