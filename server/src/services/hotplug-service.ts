import type { HotplugServiceServer } from '../../../gen/hypervisor/v1/hotplug_service';
import { unimplemented } from '../errors';
import { unary } from '../grpc/handle';

const missing = (rpc: string) =>
  unary(() => {
    throw unimplemented(`${rpc} (hotplug needs device models and the hotplug controller: issue 3 and a later hotplug issue)`);
  });

export function createHotplugService(): HotplugServiceServer {
  return {
    attachDevice: missing('AttachDevice'),
    detachDevice: missing('DetachDevice'),
    listDevices: missing('ListDevices'),
    setVcpus: missing('SetVcpus'),
    setMemory: missing('SetMemory'),
  };
}
