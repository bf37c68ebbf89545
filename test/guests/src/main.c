/*
 * hv test guest: entered by entry.S in 32-bit flat protected mode with its own stack.
 *   1. initialise COM1 and print "hv-guest: ready",
 *   2. validate and report the PVH start_info (%ebx): cmdline, memory map,
 *   3. run the cmdline's "action=" (default poweroff).
 */
#include "actions.h"
#include "cmdline.h"
#include "console.h"
#include "platform-actions.h"
#include "start-info.h"
#include "uart.h"

#define DEFAULT_ACTION "poweroff"  /* when the cmdline names none (and for raw boots) */
#define DEFAULT_TICK_MILLIONS 10   /* loop iterations per tick line, in millions */
#define DEFAULT_RNG_BYTES 16       /* bytes virtio-rng reads when the action names no count */

static void bad_action(const char *action, u32 length) __attribute__((noreturn));
static void bad_action(const char *action, u32 length)
{
    put_prefix();
    put_str("error unknown action=");
    put_strn(action, length);
    put_newline();
    action_poweroff();
}

/* "name:N" → N; a bare "name" gives fallback. Anything else is a bad action. */
static u32 action_number(const char *action, u32 length, u32 name_length, u32 fallback)
{
    u32 value;
    if (length == name_length) return fallback;
    if (action[name_length] != ':' || !parse_u32(action + name_length + 1, length - name_length - 1, &value)) {
        bad_action(action, length);
    }
    return value;
}

void guest_main(u32 ebx)
{
    uart_init();
    put_line("ready");
    const char *cmdline = report_start_info(ebx);
    u32 length;
    const char *action = cmdline_value(cmdline, "action", &length);
    if (action == 0) {
        action = DEFAULT_ACTION;
        length = sizeof(DEFAULT_ACTION) - 1;
    }
    put_prefix();
    put_str("action=");
    put_strn(action, length);
    put_newline();

    if (word_equals(action, length, "poweroff")) action_poweroff();
    if (word_starts_with(action, length, "exit:")) action_exit(action_number(action, length, 4, 0));
    if (word_equals(action, length, "fault")) action_fault();
    if (word_equals(action, length, "hlt")) action_hlt();
    if (word_equals(action, length, "spin")) action_spin();
    if (word_equals(action, length, "echo")) action_echo();
    if (word_equals(action, length, "powerbutton")) action_powerbutton();
    if (word_equals(action, length, "powerbutton-reboot")) action_powerbutton_reboot();
    if (word_starts_with(action, length, "pio-loop:")) action_pio_loop(action_number(action, length, 8, 0));
    if (word_starts_with(action, length, "tick")) action_tick(action_number(action, length, 4, DEFAULT_TICK_MILLIONS));
    if (word_equals(action, length, "pci")) action_pci();
    if (word_equals(action, length, "panic")) action_panic();
    if (word_equals(action, length, "reboot")) action_reboot();
    if (word_equals(action, length, "acpi")) action_acpi(ebx);
    if (word_equals(action, length, "rtc")) action_rtc();
    if (word_equals(action, length, "virtio-rng-break")) action_virtio_rng_break();
    if (word_starts_with(action, length, "virtio-rng")) action_virtio_rng(action_number(action, length, 10, DEFAULT_RNG_BYTES));
    if (word_equals(action, length, "virtio-blk")) action_virtio_blk(cmdline);
    if (word_equals(action, length, "virtio-net")) action_virtio_net(cmdline);
    if (word_starts_with(action, length, "pci-fuzz:")) action_pci_fuzz(action_number(action, length, 8, 0), cmdline);
    if (word_equals(action, length, "virtio-console")) action_virtio_console();
    if (word_equals(action, length, "virtio-balloon")) action_virtio_balloon(ebx);
    if (word_equals(action, length, "virtio-balloon-hostile")) action_virtio_balloon_hostile(ebx);
    if (word_starts_with(action, length, "virtio-fuzz:")) action_virtio_fuzz(action_number(action, length, 11, 0));
    bad_action(action, length);
}
