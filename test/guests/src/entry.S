/*
 * Entry of the hv test guest, for both boot protocols:
 *   PVH (XEN_ELFNOTE_PHYS32_ENTRY below): 32-bit flat protected mode, paging off, %ebx = hvm_start_info.
 *   raw flat binary: the same CPU state, %ebx = 0 or garbage (main.c validates it).
 * Steps: mask interrupts, load our own flat GDT and segments (PVH leaves GDT, IDT and stack to the guest),
 * take our own stack, zero .bss (a raw image does not carry it), call guest_main(ebx).
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18 /* PVH note type: 32-bit physical entry address */
#define CODE_SELECTOR 0x08          /* flat 32-bit code, GDT entry 1 */
#define DATA_SELECTOR 0x10          /* flat 32-bit data, GDT entry 2 */

    .section .text.entry, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    lgdt gdt_pointer
    ljmp $CODE_SELECTOR, $1f
1:  movl $DATA_SELECTOR, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    movl %eax, %ss
    movl $stack_top, %esp
    movl %ebx, %esi            /* start_info survives the .bss clearing in %esi */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx              /* whole dwords (the linker script aligns both ends): 4x fewer emulated steps */
    xorl %eax, %eax
    rep stosl
    subl $12, %esp             /* keep %esp 16-byte aligned at the call */
    pushl %esi
    call guest_main
2:  cli
    hlt
    jmp 2b

    .section .rodata
    .balign 8
gdt:
    .quad 0                    /* null descriptor */
    .quad 0x00cf9b000000ffff   /* 0x08: code, base 0, limit 4 GiB, 32-bit, execute/read, accessed */
    .quad 0x00cf93000000ffff   /* 0x10: data, base 0, limit 4 GiB, 32-bit, read/write, accessed */
gdt_end:
    .balign 2
    .word 0                    /* pad so the 6-byte pointer's base is 4-aligned */
gdt_pointer:
    .word gdt_end - gdt - 1
    .long gdt

    /* PVH entry note, found by loaders through the PT_NOTE segment (and the SHT_NOTE section). */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                    /* namesz: "Xen\0" */
    .long 4                    /* descsz: a 32-bit physical address */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .balign 4
    .long _start

    .section .bss
    .balign 16
stack:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
