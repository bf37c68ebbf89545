/* Actions that exercise the PC platform devices: pvpanic, the i8042 reset, ACPI tables and the CMOS RTC. */
#ifndef HV_GUEST_PLATFORM_ACTIONS_H
#define HV_GUEST_PLATFORM_ACTIONS_H

#include "io.h"

void action_panic(void) __attribute__((noreturn));
void action_reboot(void) __attribute__((noreturn));
void action_acpi(u32 ebx) __attribute__((noreturn));
void action_rtc(void) __attribute__((noreturn));

#endif
