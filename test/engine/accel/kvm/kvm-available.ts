/** Why KVM tests cannot run here (undefined: /dev/kvm opens and speaks API 12). */
import { native } from '../../../../engine/src/native';

export function kvmUnavailableReason(devicePath = '/dev/kvm'): string | undefined {
  try {
    const kvm = new native.Kvm(devicePath);
    try {
      const version = kvm.apiVersion();
      return version === native.kvmConstants.KVM_API_VERSION ? undefined : `${devicePath}: KVM API version ${version}`;
    } finally {
      kvm.close();
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
