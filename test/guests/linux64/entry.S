/*
 * The protected-mode part: what a bzImage loader copies to pref_address. Offset 0 is where a 32-bit
 * loader would enter (unsupported here: it halts); offset 0x200 is the 64-bit entry, where the boot
 * protocol starts the CPU in long mode with %rsi = the zero page. The entry keeps what the loader gave it
 * (%rsi, and its own address through %rip) and hands both to C on a stack of its own.
 */
    .section .head, "ax"
    .code32
    .globl _kernel_start
_kernel_start:
    cli
1:  hlt
    jmp 1b

    .org 0x200
    .code64
    .globl startup_64
startup_64:
    cli
    /* Capture the entry %rip before anything else: the C side compares it with where it was linked. */
    lea startup_64(%rip), %rdx
    mov %rsi, %rdi            /* arg 1: the zero page */
    mov %rdx, %rsi            /* arg 2: the %rip we were entered at */
    mov %cs, %edx             /* arg 3: the code segment selector */
    lea stack_top(%rip), %rsp
    call linux64_main
2:  cli
    hlt
    jmp 2b

    .section .bss
    .balign 16
stack:
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
