/**
 * What `virsh dumpxml` prints for a running direct-kernel-boot guest defined with virt-install (libvirt 9, QEMU
 * q35): a raw file disk, an ethernet interface on an existing tap, COM1 as the console, and everything libvirt
 * adds on its own (controllers, inputs, audio, a balloon, seclabel, runtime aliases and PCI addresses).
 * The values a test must make real on this host can be replaced.
 */
export interface SampleValues {
  type: 'kvm' | 'qemu';
  memoryKiB: number;
  vcpus: number;
  kernel: string;
  /** Left out when empty. */
  initrd: string;
  cmdline: string;
  disk: string;
  tap: string;
}

const DEFAULTS: SampleValues = {
  type: 'kvm',
  memoryKiB: 524288,
  vcpus: 2,
  kernel: '/var/lib/libvirt/boot/vmlinuz-virt',
  initrd: '/var/lib/libvirt/boot/initramfs-virt',
  cmdline: 'console=ttyS0 root=/dev/vda rw',
  disk: '/var/lib/libvirt/images/alpine.img',
  tap: 'tap0',
};

export function virshDumpxmlSample(values: Partial<SampleValues> = {}): string {
  const v = { ...DEFAULTS, ...values };
  return `<domain type='${v.type}' id='3'>
  <name>alpine-direct</name>
  <uuid>3b5e8c1a-9f2d-4b7e-8a61-2c4d5e6f7a80</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://alpinelinux.org/alpinelinux/3.19"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>${v.memoryKiB}</memory>
  <currentMemory unit='KiB'>${v.memoryKiB}</currentMemory>
  <vcpu placement='static'>${v.vcpus}</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <kernel>${v.kernel}</kernel>${v.initrd ? `\n    <initrd>${v.initrd}</initrd>` : ''}
    <cmdline>${v.cmdline}</cmdline>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <vmport state='off'/>
  </features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm>
    <suspend-to-mem enabled='no'/>
    <suspend-to-disk enabled='no'/>
  </pm>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' discard='unmap'/>
      <source file='${v.disk}' index='1'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <controller type='usb' index='0' model='qemu-xhci' ports='15'>
      <alias name='usb'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </controller>
    <controller type='pci' index='0' model='pcie-root'>
      <alias name='pcie.0'/>
    </controller>
    <interface type='ethernet'>
      <mac address='52:54:00:6b:3c:58'/>
      <target dev='${v.tap}' managed='no'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
      <alias name='serial0'/>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <source path='/dev/pts/3'/>
      <target type='serial' port='0'/>
      <alias name='serial0'/>
    </console>
    <input type='mouse' bus='ps2'>
      <alias name='input0'/>
    </input>
    <input type='keyboard' bus='ps2'>
      <alias name='input1'/>
    </input>
    <audio id='1' type='none'/>
    <memballoon model='virtio'>
      <alias name='balloon0'/>
      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
    </memballoon>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'>
    <label>+64055:+994</label>
    <imagelabel>+64055:+994</imagelabel>
  </seclabel>
</domain>
`;
}
