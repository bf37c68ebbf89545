export { Scrollback } from './scrollback';
export { ConsoleHub, ConsoleInputBusyError, type ConsoleClient, type AttachOptions } from './console-hub';
