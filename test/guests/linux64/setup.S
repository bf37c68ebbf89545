/*
 * The real-mode part of a minimal bzImage: a boot sector and one setup sector carrying the Linux boot
 * protocol's setup header (Documentation/arch/x86/boot.rst), so hv's bzImage loader takes this program
 * exactly as it takes a kernel. No real-mode code: the 64-bit protocol never runs it (a 16-bit entry
 * would just halt). SYSSIZE (16-byte paragraphs of kernel.bin) comes from the Makefile via --defsym.
 */
#define SETUP_SECTS 1            /* one setup sector after the boot sector: 1024 bytes before the kernel */
#define BOOT_PROTOCOL 0x020f     /* protocol 2.15 */
#define LOADED_HIGH 0x01         /* loadflags: protected-mode code at 1 MiB or above */
#define XLF_KERNEL_64 0x0001     /* xloadflags: the 64-bit entry exists at load address + 0x200 */
#define KERNEL_ALIGNMENT 0x200000 /* 2 MiB, as x86-64 kernels ask */
#define INITRD_ADDR_MAX 0x7fffffff /* the initrd may sit anywhere below 2 GiB */
#define CMDLINE_SIZE 0x7ff       /* longest cmdline accepted, without its NUL */

    .code16
    .section .setup, "a"
    .globl _setup_start
_setup_start:
    cli
    hlt
    .org 0x1f1
setup_sects:        .byte SETUP_SECTS
root_flags:         .word 0
syssize:            .long SYSSIZE
ram_size:           .word 0
vid_mode:           .word 0xffff
root_dev:           .word 0
boot_flag:          .word 0xaa55
    .org 0x200
    /* A short jump over the header: its displacement byte (0x201) tells loaders where the header ends. */
    .byte 0xeb, header_end - header
header:             .ascii "HdrS"
version:            .word BOOT_PROTOCOL
realmode_swtch:     .long 0
start_sys_seg:      .word 0x1000
kernel_version:     .word 0
type_of_loader:     .byte 0
loadflags:          .byte LOADED_HIGH
setup_move_size:    .word 0
code32_start:       .long LOAD_ADDRESS
ramdisk_image:      .long 0
ramdisk_size:       .long 0
bootsect_kludge:    .long 0
heap_end_ptr:       .word 0
ext_loader_ver:     .byte 0
ext_loader_type:    .byte 0
cmd_line_ptr:       .long 0
initrd_addr_max:    .long INITRD_ADDR_MAX
kernel_alignment:   .long KERNEL_ALIGNMENT
relocatable_kernel: .byte 0
min_alignment:      .byte 21
xloadflags:         .word XLF_KERNEL_64
cmdline_size:       .long CMDLINE_SIZE
hardware_subarch:   .long 0
hardware_subarch_data: .quad 0
payload_offset:     .long 0
payload_length:     .long 0
setup_data:         .quad 0
pref_address:       .quad LOAD_ADDRESS
init_size:          .long INIT_SIZE
handover_offset:    .long 0
kernel_info_offset: .long 0
header_end:
    .org (SETUP_SECTS + 1) * 512
