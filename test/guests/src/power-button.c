/*
 * action=powerbutton: wait for the ACPI power button as an OS does, then power off.
 *   1. enable the event (PM1_EN.PWRBTN_EN) so a platform that can raise the SCI would;
 *   2. poll PM1_STS.PWRBTN_STS (no interrupts in this guest);
 *   3. acknowledge it (write 1 to clear) and power off through S5.
 */
#include "actions.h"
#include "console.h"
#include "io.h"

#define PM1A_STS_PORT 0x600  /* PM1a event block: PM1_STS (16 bits) */
#define PM1A_EN_PORT 0x602   /* PM1a event block: PM1_EN (16 bits) */
#define PM1_PWRBTN 0x0100    /* PWRBTN_STS / PWRBTN_EN (bit 8) */

void action_powerbutton(void)
{
    outw(PM1A_EN_PORT, PM1_PWRBTN);
    put_str(LINE_PREFIX "waiting for the power button\n");
    while ((inw(PM1A_STS_PORT) & PM1_PWRBTN) == 0) {
    }
    outw(PM1A_STS_PORT, PM1_PWRBTN);
    put_str(LINE_PREFIX "power button pressed\n");
    action_poweroff();
}
