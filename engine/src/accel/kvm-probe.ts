/**
 * probeKvm(): can this host run `kvm` domains? Steps, each failing into `reason`:
 *   1. open /dev/kvm (O_RDWR | O_CLOEXEC);
 *   2. KVM_GET_API_VERSION must be KVM_API_VERSION (12);
 *   3. KVM_CHECK_EXTENSION must be non-zero for every extension the engine needs;
 *   4. vCPU limits: KVM_CAP_MAX_VCPUS (0 means KVM_CAP_NR_VCPUS) and KVM_CAP_NR_VCPUS (0 means 4), per the KVM API doc.
 * The KVM_* numbers come from <linux/kvm.h> through the addon, never retyped here.
 */
import { native, type KvmConstants, type NativeKvm } from '../native';

/** Extensions the engine's KVM path relies on. */
export const REQUIRED_KVM_EXTENSIONS = [
  'KVM_CAP_IRQCHIP',
  'KVM_CAP_USER_MEMORY',
  'KVM_CAP_SET_TSS_ADDR',
  'KVM_CAP_EXT_CPUID',
  'KVM_CAP_IOEVENTFD',
  'KVM_CAP_IRQFD',
  'KVM_CAP_PIT2',
  'KVM_CAP_IRQ_ROUTING',
  'KVM_CAP_SET_IDENTITY_MAP_ADDR',
  'KVM_CAP_IMMEDIATE_EXIT',
] as const satisfies readonly (keyof KvmConstants)[];

/** Recommended vCPU count the KVM API doc says to assume when KVM_CAP_NR_VCPUS is absent. */
export const KVM_DEFAULT_NR_VCPUS = 4;
/** Default device node. */
export const KVM_DEVICE = '/dev/kvm';

export interface KvmExtensionProbe {
  name: string;
  number: number;
  /** KVM_CHECK_EXTENSION result: 0 = absent. */
  value: number;
  /** The engine cannot run without it (the vCPU-limit capabilities are listed too, not required). */
  required: boolean;
}

export interface KvmProbeResult {
  available: boolean;
  /** Why not available: names the failing step (device and errno, API version, or missing extensions). */
  reason?: string;
  apiVersion?: number;
  extensions: KvmExtensionProbe[];
  maxVcpus?: number;
  recommendedVcpus?: number;
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** Probes devicePath (default /dev/kvm); never throws. */
export function probeKvm(devicePath: string = KVM_DEVICE): KvmProbeResult {
  const constants = native.kvmConstants;
  let kvm: NativeKvm;
  try {
    kvm = new native.Kvm(devicePath);
  } catch (error) {
    return { available: false, reason: errorText(error), extensions: [] }; // "open /dev/kvm: No such file ... (ENOENT)"
  }
  try {
    const apiVersion = kvm.apiVersion();
    if (apiVersion !== constants.KVM_API_VERSION) {
      return {
        available: false,
        reason: `${devicePath}: KVM API version ${apiVersion}, need ${constants.KVM_API_VERSION}`,
        apiVersion,
        extensions: [],
      };
    }
    const check = (name: keyof KvmConstants, required: boolean): KvmExtensionProbe => ({
      name,
      number: constants[name],
      value: kvm.checkExtension(constants[name]),
      required,
    });
    const extensions = REQUIRED_KVM_EXTENSIONS.map((name) => check(name, true));
    const recommended = check('KVM_CAP_NR_VCPUS', false);
    const max = check('KVM_CAP_MAX_VCPUS', false);
    extensions.push(recommended, max);
    const recommendedVcpus = recommended.value > 0 ? recommended.value : KVM_DEFAULT_NR_VCPUS;
    const maxVcpus = max.value > 0 ? max.value : recommendedVcpus;
    const missing = extensions.filter((e) => e.required && e.value === 0).map((e) => e.name);
    return {
      available: missing.length === 0,
      ...(missing.length > 0 ? { reason: `${devicePath}: missing ${missing.join(', ')}` } : {}),
      apiVersion,
      extensions,
      maxVcpus,
      recommendedVcpus,
    };
  } catch (error) {
    return { available: false, reason: `${devicePath}: ${errorText(error)}`, extensions: [] };
  } finally {
    kvm.close();
  }
}
