/**
 * i8042 keyboard controller, as much of it as a guest needs to probe it and to reset the machine.
 * Two registers: data (port 0x60) and status/command (port 0x64), inserted as two bus devices.
 *
 * Protocol:
 * 1. Status (read 0x64): OBF (bit 0) while the output buffer holds a byte for the guest; IBF (bit 1) is always
 *    clear (commands take effect at once); SYS (bit 2) set, as after the BIOS's self-test; CMD (bit 3) says
 *    whether the last write was a command; the keyboard is never inhibited (bit 4).
 * 2. Commands (write 0x64): 0x20 reads the controller configuration byte (CTR), 0x60 writes it with the next
 *    data byte; 0xAA self-test answers 0x55; 0xAB/0xA9 port tests answer 0 (passed); 0xAD/0xAE and 0xA7/0xA8
 *    disable/enable the keyboard/aux port (CTR bits); 0xD0/0xD1 read/write the output port; 0xD2/0xD3 echo
 *    the next data byte back as keyboard/aux data (Linux's loop test); 0xD4 sends a byte to the aux port,
 *    where no mouse is (nothing answers, the guest's driver times out); 0xFE pulses the reset line: onReset().
 *    Any 0xF0-0xFF pulse with bit 0 clear resets; writing the output port with bit 0 clear resets too.
 * 3. Data (write 0x60) without a pending command goes to the keyboard, which acknowledges (0xFA); reset (0xFF)
 *    adds the self-test pass (0xAA) and "identify" (0xF2) the MF2 id (0xAB 0x83).
 * 4. Data (read 0x60) pops the output buffer; reading it empty returns the last byte again, as hardware does.
 * 5. The keyboard IRQ (1) is high while keyboard data waits and CTR enables its interrupt.
 * Unknown commands are logged (once each) and ignored, so a probing guest never hangs.
 */
import type { BusDevice } from '../bus/bus-device';
import { hex, NULL_LOGGER, type WarnLogger } from '../bus/warn-logger';
import type { IrqLine } from '../irq/irq-line';

/** Status bit 0: output buffer full (a byte waits at the data port). */
export const I8042_STR_OBF = 1 << 0;
/** Status bit 1: input buffer full (the controller has not taken the last write yet). */
export const I8042_STR_IBF = 1 << 1;
/** Status bit 2: system flag, set once the controller passed its self-test. */
export const I8042_STR_SYS = 1 << 2;
/** Status bit 3: the last write went to the command port (0: the data port). */
export const I8042_STR_CMD = 1 << 3;
/** Status bit 4: keyboard not inhibited (keylock off). */
export const I8042_STR_KEYLOCK = 1 << 4;
/** Status bit 5: the byte in the output buffer came from the aux (mouse) port. */
export const I8042_STR_AUXDATA = 1 << 5;

/** CTR bit 0: keyboard interrupt enabled. */
export const I8042_CTR_KBDINT = 1 << 0;
/** CTR bit 1: aux interrupt enabled. */
export const I8042_CTR_AUXINT = 1 << 1;
/** CTR bit 2: system flag (mirrored in status bit 2). */
export const I8042_CTR_SYS = 1 << 2;
/** CTR bit 4: keyboard port disabled. */
export const I8042_CTR_KBDDIS = 1 << 4;
/** CTR bit 5: aux port disabled. */
export const I8042_CTR_AUXDIS = 1 << 5;
/** CTR bit 6: scancode translation to set 1. */
export const I8042_CTR_XLATE = 1 << 6;
/** CTR at power-on, as a PC BIOS leaves it: keyboard interrupt, system flag, translation. */
export const I8042_CTR_RESET = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE;

/** Command: read the CTR. */
export const I8042_CMD_READ_CTR = 0x20;
/** Command: write the CTR with the next data byte. */
export const I8042_CMD_WRITE_CTR = 0x60;
/** Command: disable the aux port. */
export const I8042_CMD_AUX_DISABLE = 0xa7;
/** Command: enable the aux port. */
export const I8042_CMD_AUX_ENABLE = 0xa8;
/** Command: test the aux port (answers 0: passed). */
export const I8042_CMD_AUX_TEST = 0xa9;
/** Command: controller self-test (answers 0x55). */
export const I8042_CMD_SELF_TEST = 0xaa;
/** Command: test the keyboard port (answers 0: passed). */
export const I8042_CMD_KBD_TEST = 0xab;
/** Command: disable the keyboard port. */
export const I8042_CMD_KBD_DISABLE = 0xad;
/** Command: enable the keyboard port. */
export const I8042_CMD_KBD_ENABLE = 0xae;
/** Command: read the output port. */
export const I8042_CMD_READ_OUTPUT = 0xd0;
/** Command: write the output port with the next data byte (bit 0 low: reset). */
export const I8042_CMD_WRITE_OUTPUT = 0xd1;
/** Command: put the next data byte in the output buffer as keyboard data. */
export const I8042_CMD_KBD_LOOP = 0xd2;
/** Command: put the next data byte in the output buffer as aux data. */
export const I8042_CMD_AUX_LOOP = 0xd3;
/** Command: send the next data byte to the aux device. */
export const I8042_CMD_AUX_SEND = 0xd4;
/** Commands 0xF0-0xFF pulse output port bits 0-3 low for 6 µs; bit 0 is the CPU reset line. */
export const I8042_CMD_PULSE_FIRST = 0xf0;
/** Command: pulse the reset line (the classic PC reboot, and hv's FADT reset register value). */
export const I8042_CMD_RESET = 0xfe;
/** Self-test passed. */
export const I8042_SELF_TEST_OK = 0x55;
/** Port test passed. */
export const I8042_PORT_TEST_OK = 0x00;
/** Output port bit 0: the CPU reset line (active low). */
export const I8042_OUTPUT_RESET_LINE = 1 << 0;
/** Output port bit 1: the A20 gate (enabled). */
export const I8042_OUTPUT_A20 = 1 << 1;
/** Output port value at power-on: not in reset, A20 enabled. */
export const I8042_OUTPUT_RESET = I8042_OUTPUT_RESET_LINE | I8042_OUTPUT_A20;

/** Keyboard: acknowledge. */
export const KBD_ACK = 0xfa;
/** Keyboard command: reset and self-test. */
export const KBD_CMD_RESET = 0xff;
/** Keyboard: self-test passed. */
export const KBD_SELF_TEST_OK = 0xaa;
/** Keyboard command: identify. */
export const KBD_CMD_GET_ID = 0xf2;
/** Keyboard id of an MF2 keyboard with translation, as QEMU answers. */
export const KBD_ID = [0xab, 0x83] as const;

/** Bytes the output buffer holds before new ones are dropped (hardware has one; a few answers may queue). */
const OUTPUT_QUEUE_MAX = 16;
/** Commands that take the next data-port byte as their parameter. */
const PARAMETER_COMMANDS = new Set([I8042_CMD_WRITE_CTR, I8042_CMD_WRITE_OUTPUT, I8042_CMD_KBD_LOOP, I8042_CMD_AUX_LOOP, I8042_CMD_AUX_SEND]);

export interface I8042Options {
  /** Called synchronously when the guest pulls the CPU reset line. */
  onReset(): void;
  /** The keyboard interrupt (ISA IRQ 1). */
  kbdIrq?: IrqLine;
  logger?: WarnLogger;
}

interface QueuedByte {
  value: number;
  aux: boolean;
}

export class I8042 {
  /** The data port (0x60). */
  readonly dataPort: BusDevice;
  /** The status (read) / command (write) port (0x64). */
  readonly commandPort: BusDevice;

  private ctr = I8042_CTR_RESET;
  private outputPort = I8042_OUTPUT_RESET;
  private lastWasCommand = false;
  /** The command waiting for its data-port parameter, or 0. */
  private pendingCommand = 0;
  private readonly queue: QueuedByte[] = [];
  private lastRead = 0;
  private irqHigh = false;
  /** An overflow was logged; quiet until the guest drains the buffer (a hostile guest cannot flood the log). */
  private overflowWarned = false;
  private readonly warnedCommands = new Set<number>();

  private readonly onReset: () => void;
  private readonly kbdIrq: IrqLine | undefined;
  private readonly logger: WarnLogger;

  constructor(options: I8042Options) {
    this.onReset = options.onReset;
    this.kbdIrq = options.kbdIrq;
    this.logger = options.logger ?? NULL_LOGGER;
    this.dataPort = { read: () => this.readData(), write: (_o, _s, value) => this.writeData(value & 0xff) };
    this.commandPort = { read: () => this.readStatus(), write: (_o, _s, value) => this.writeCommand(value & 0xff) };
  }

  /** Back to power-on state (VM reset). */
  reset(): void {
    this.ctr = I8042_CTR_RESET;
    this.outputPort = I8042_OUTPUT_RESET;
    this.lastWasCommand = false;
    this.pendingCommand = 0;
    this.queue.length = 0;
    this.lastRead = 0;
    this.overflowWarned = false;
    this.updateIrq();
  }

  private readStatus(): number {
    let status = I8042_STR_KEYLOCK | (this.ctr & I8042_CTR_SYS);
    if (this.lastWasCommand) status |= I8042_STR_CMD;
    const head = this.queue[0];
    if (head !== undefined) status |= head.aux ? I8042_STR_OBF | I8042_STR_AUXDATA : I8042_STR_OBF;
    return status;
  }

  private readData(): number {
    const head = this.queue.shift();
    if (head !== undefined) this.lastRead = head.value;
    if (this.queue.length === 0) this.overflowWarned = false;
    this.updateIrq();
    return this.lastRead;
  }

  private writeCommand(command: number): void {
    this.lastWasCommand = true;
    this.pendingCommand = 0;
    if (PARAMETER_COMMANDS.has(command)) {
      this.pendingCommand = command;
      return;
    }
    if (command >= I8042_CMD_PULSE_FIRST) {
      // Bits 0-3 clear are the output lines pulsed; only bit 0 (reset) is wired.
      if ((command & I8042_OUTPUT_RESET_LINE) === 0) this.onReset();
      return;
    }
    switch (command) {
      case I8042_CMD_READ_CTR:
        return this.push(this.ctr, false);
      case I8042_CMD_AUX_DISABLE:
        return this.setCtr(this.ctr | I8042_CTR_AUXDIS);
      case I8042_CMD_AUX_ENABLE:
        return this.setCtr(this.ctr & ~I8042_CTR_AUXDIS);
      case I8042_CMD_AUX_TEST:
      case I8042_CMD_KBD_TEST:
        return this.push(I8042_PORT_TEST_OK, false);
      case I8042_CMD_SELF_TEST:
        return this.push(I8042_SELF_TEST_OK, false);
      case I8042_CMD_KBD_DISABLE:
        return this.setCtr(this.ctr | I8042_CTR_KBDDIS);
      case I8042_CMD_KBD_ENABLE:
        return this.setCtr(this.ctr & ~I8042_CTR_KBDDIS);
      case I8042_CMD_READ_OUTPUT:
        return this.push(this.outputPort, false);
      default:
        if (this.warnedCommands.has(command)) return;
        this.warnedCommands.add(command);
        this.logger.warn({ device: 'i8042', command: hex(command) }, `i8042: unsupported controller command ${hex(command)}: ignored`);
    }
  }

  private writeData(value: number): void {
    this.lastWasCommand = false;
    const command = this.pendingCommand;
    this.pendingCommand = 0;
    switch (command) {
      case I8042_CMD_WRITE_CTR:
        return this.setCtr(value);
      case I8042_CMD_WRITE_OUTPUT:
        this.outputPort = value;
        if ((value & I8042_OUTPUT_RESET_LINE) === 0) this.onReset();
        return;
      case I8042_CMD_KBD_LOOP:
        return this.push(value, false);
      case I8042_CMD_AUX_LOOP:
        return this.push(value, true);
      case I8042_CMD_AUX_SEND:
        return; // no mouse on the aux port: nothing answers
      default:
        return this.keyboardCommand(value);
    }
  }

  /** A byte for the keyboard itself: every one is acknowledged, a few answer more. */
  private keyboardCommand(value: number): void {
    this.push(KBD_ACK, false);
    if (value === KBD_CMD_RESET) this.push(KBD_SELF_TEST_OK, false);
    else if (value === KBD_CMD_GET_ID) for (const byte of KBD_ID) this.push(byte, false);
  }

  private setCtr(value: number): void {
    this.ctr = value & 0xff;
    this.updateIrq();
  }

  private push(value: number, aux: boolean): void {
    if (this.queue.length >= OUTPUT_QUEUE_MAX) {
      if (this.overflowWarned) return;
      this.overflowWarned = true;
      this.logger.warn({ device: 'i8042' }, 'i8042: output buffer overflow (the guest does not read port 0x60): byte dropped');
      return;
    }
    this.queue.push({ value, aux });
    this.updateIrq();
  }

  private updateIrq(): void {
    const head = this.queue[0];
    const high = head !== undefined && !head.aux && (this.ctr & I8042_CTR_KBDINT) !== 0;
    if (high === this.irqHigh) return;
    this.irqHigh = high;
    this.kbdIrq?.setLevel(high);
  }
}
