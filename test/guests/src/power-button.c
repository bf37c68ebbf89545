/*
 * action=powerbutton: wait for the ACPI power button as an OS does, then power off (powerbutton-reboot: reboot,
 * as an OS told to restart on the power button does).
 *   1. enable the event (PM1_EN.PWRBTN_EN) so a platform that can raise the SCI would;
 *   2. poll PM1_STS.PWRBTN_STS (no interrupts in this guest);
 *   3. acknowledge it (write 1 to clear), then power off through S5 (or reset through the i8042).
 */
#include "actions.h"
#include "console.h"
#include "io.h"
#include "platform-actions.h"

#define PM1A_STS_PORT 0x600  /* PM1a event block: PM1_STS (16 bits) */
#define PM1A_EN_PORT 0x602   /* PM1a event block: PM1_EN (16 bits) */
#define PM1_PWRBTN 0x0100    /* PWRBTN_STS / PWRBTN_EN (bit 8) */

static void wait_for_power_button(void)
{
    outw(PM1A_EN_PORT, PM1_PWRBTN);
    put_str(LINE_PREFIX "waiting for the power button\n");
    while ((inw(PM1A_STS_PORT) & PM1_PWRBTN) == 0) {
    }
    outw(PM1A_STS_PORT, PM1_PWRBTN);
    put_str(LINE_PREFIX "power button pressed\n");
}

void action_powerbutton(void)
{
    wait_for_power_button();
    action_poweroff();
}

void action_powerbutton_reboot(void)
{
    wait_for_power_button();
    action_reboot();
}
