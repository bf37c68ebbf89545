/* Polling driver for the COM1 16550A UART. */
#ifndef HV_GUEST_UART_H
#define HV_GUEST_UART_H

#include "io.h"

#define COM1_BASE 0x3f8          /* COM1 I/O base */
#define UART_SCRATCH (COM1_BASE + 7) /* scratch register (pio-loop benchmark target) */

void uart_init(void);
void uart_putc(char c);
int uart_getc(void); /* blocks until a byte is received */
void uart_flush(void); /* waits until every written byte has left the UART */

#endif
