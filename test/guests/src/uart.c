/*
 * 16550A driver, polled, as a real driver initialises it:
 *   1. IER = 0 (no interrupts),
 *   2. LCR.DLAB = 1, divisor latch = 1 (115200 baud), LCR = 8N1 (DLAB cleared),
 *   3. FCR: FIFOs on and cleared,
 *   4. MCR: DTR | RTS (OUT2 left clear: the IRQ line stays off),
 *   5. transmit: wait for LSR.THRE then write THR; receive: wait for LSR.DR then read RBR.
 */
#include "uart.h"

#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3 /* line control */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define LCR_DLAB 0x80       /* divisor latch access */
#define LCR_8N1 0x03        /* 8 data bits, no parity, 1 stop bit */
#define FCR_ENABLE 0x01     /* enable FIFOs */
#define FCR_CLEAR_RX 0x02   /* clear receive FIFO */
#define FCR_CLEAR_TX 0x04   /* clear transmit FIFO */
#define FCR_TRIGGER_14 0xc0 /* receive trigger level 14 bytes */
#define MCR_DTR 0x01        /* data terminal ready */
#define MCR_RTS 0x02        /* request to send */
#define LSR_DR 0x01         /* receive data ready */
#define LSR_THRE 0x20       /* transmit holding register empty */
#define LSR_TEMT 0x40       /* transmitter empty: holding and shift registers both */
#define DIVISOR_115200 1    /* 1.8432 MHz / 16 / 115200 */

void uart_init(void)
{
    outb(COM1_BASE + UART_IER, 0);
    outb(COM1_BASE + UART_LCR, LCR_DLAB);
    outb(COM1_BASE + UART_DLL, DIVISOR_115200 & 0xff);
    outb(COM1_BASE + UART_DLM, DIVISOR_115200 >> 8);
    outb(COM1_BASE + UART_LCR, LCR_8N1);
    outb(COM1_BASE + UART_FCR, FCR_ENABLE | FCR_CLEAR_RX | FCR_CLEAR_TX | FCR_TRIGGER_14);
    outb(COM1_BASE + UART_MCR, MCR_DTR | MCR_RTS);
}

/* Waits until the transmitter is empty, so a power-off right after the last line cannot cut it off. */
void uart_flush(void)
{
    while ((inb(COM1_BASE + UART_LSR) & LSR_TEMT) == 0) {
    }
}

void uart_putc(char c)
{
    while ((inb(COM1_BASE + UART_LSR) & LSR_THRE) == 0) {
    }
    outb(COM1_BASE + UART_THR, (u8)c);
}

int uart_getc(void)
{
    while ((inb(COM1_BASE + UART_LSR) & LSR_DR) == 0) {
    }
    return inb(COM1_BASE + UART_RBR);
}
