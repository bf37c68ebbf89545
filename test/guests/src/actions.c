#include "actions.h"
#include "console.h"
#include "uart.h"
#include "cmdline.h"
#include "pci.h"

#define PM1A_CNT_PORT 0x604      /* ACPI PM1a control block (QEMU q35 / hv microvm) */
#define PM1_CNT_SLP_EN 0x2000    /* SLP_EN (bit 13) with SLP_TYP 0 = S5 soft-off, as QEMU q35 */
#define DEBUG_EXIT_PORT 0xf4     /* QEMU isa-debug-exit: writing v exits with status (v << 1) | 1 */
#define ECHO_LINE_MAX 128        /* longest line the echo action buffers */
#define TICK_INNER_LOOPS 1000000 /* one "million" of tick iterations */
#define SETTLE_LOOPS 100000000   /* busy-wait after a power-off request: QEMU acts on it asynchronously */

static void halt_forever(void) __attribute__((noreturn));
static void halt_forever(void)
{
    for (;;) cli_hlt();
}

/* Gives an asynchronous power-off request time to take effect before reporting that it was ignored. */
static void settle(void)
{
    for (u32 i = 0; i < SETTLE_LOOPS; i++) compiler_barrier();
}

/* Debug-exit, then ACPI S5 if no debug-exit device is there, then halt: the guest always stops. */
static void debug_exit(u32 code) __attribute__((noreturn));
static void debug_exit(u32 code)
{
    uart_flush();
    outl(DEBUG_EXIT_PORT, code);
    put_line("debug-exit ignored");
    outw(PM1A_CNT_PORT, PM1_CNT_SLP_EN);
    settle();
    put_line("acpi poweroff ignored");
    halt_forever();
}

void action_poweroff(void)
{
    put_line("powering off");
    uart_flush();
    outw(PM1A_CNT_PORT, PM1_CNT_SLP_EN);
    settle();
    put_line("acpi poweroff ignored");
    outl(DEBUG_EXIT_PORT, 0);
    put_line("debug-exit ignored");
    halt_forever();
}

void action_exit(u32 code)
{
    put_prefix();
    put_str("exiting code=");
    put_dec(code);
    put_newline();
    debug_exit(code);
}

void action_fault(void)
{
    put_line("faulting (ud2)");
    __asm__ volatile("ud2");
    put_line("survived fault");
    halt_forever();
}

void action_hlt(void)
{
    put_line("halting");
    for (;;) {
        cli_hlt();
        put_line("woke");
    }
}

void action_spin(void)
{
    put_line("spinning");
    for (;;) compiler_barrier();
}

static void echo_prompt(void) { put_str(LINE_PREFIX "echo>"); }

void action_echo(void)
{
    char line[ECHO_LINE_MAX];
    u32 length = 0;
    echo_prompt();
    for (;;) {
        char c = (char)uart_getc();
        if (c == '\r' || c == '\n') {
            put_newline();
            put_prefix();
            put_str("got=");
            put_strn(line, length);
            put_newline();
            if (word_equals(line, length, "poweroff")) action_poweroff();
            length = 0;
            echo_prompt();
        } else if (c == '\b' || c == 0x7f) {
            if (length > 0) {
                length--;
                put_str("\b \b");
            }
        } else if (length < ECHO_LINE_MAX) {
            line[length++] = c;
            uart_putc(c);
        }
    }
}

void action_pio_loop(u32 count)
{
    put_prefix();
    put_str("pio-loop start n=");
    put_dec(count);
    put_newline();
    for (u32 i = 0; i < count; i++) outb(UART_SCRATCH, (u8)i);
    put_prefix();
    put_str("pio-loop done n=");
    put_dec(count);
    put_newline();
    debug_exit(0);
}

void action_tick(u32 millions)
{
    for (u32 tick = 1;; tick++) {
        for (u32 m = 0; m < millions; m++) {
            for (u32 i = 0; i < TICK_INNER_LOOPS; i++) compiler_barrier();
        }
        put_prefix();
        put_str("tick ");
        put_dec(tick);
        put_newline();
    }
}

void action_pci(void)
{
    u32 count = pci_list();
    put_prefix();
    put_str("pci functions=");
    put_dec(count);
    put_newline();
    action_poweroff();
}
