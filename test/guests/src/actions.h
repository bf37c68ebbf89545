/* What the guest does after reporting its boot information: one function per cmdline "action=". */
#ifndef HV_GUEST_ACTIONS_H
#define HV_GUEST_ACTIONS_H

#include "io.h"

void action_poweroff(void) __attribute__((noreturn));
void action_exit(u32 code) __attribute__((noreturn));
void action_fault(void) __attribute__((noreturn));
void action_hlt(void) __attribute__((noreturn));
void action_spin(void) __attribute__((noreturn));
void action_echo(void) __attribute__((noreturn));
void action_pio_loop(u32 count) __attribute__((noreturn));
void action_tick(u32 millions) __attribute__((noreturn));
void action_powerbutton(void) __attribute__((noreturn));
void action_powerbutton_reboot(void) __attribute__((noreturn));
void action_pci(void) __attribute__((noreturn));
void action_virtio_rng(u32 count) __attribute__((noreturn));
void action_virtio_rng_break(void) __attribute__((noreturn));
void action_virtio_blk(const char *cmdline) __attribute__((noreturn));
void action_virtio_net(const char *cmdline) __attribute__((noreturn));
void action_pci_fuzz(u32 count, const char *cmdline) __attribute__((noreturn));
void action_virtio_console(void) __attribute__((noreturn));
void action_virtio_balloon(u32 ebx) __attribute__((noreturn));
void action_virtio_balloon_hostile(u32 ebx) __attribute__((noreturn));
void action_virtio_fuzz(u32 rounds) __attribute__((noreturn));

#endif
