/**
 * The engine's public entry: the model (commands, events, result codes, markets, records)
 * and the order book. Other rooms (gateway, accounts) import from here only.
 */
export * from './book/order-book.ts';
export { OrderIndex } from './book/order-index.ts';
export * from './config/markets-config.ts';
export * from './model/codec.ts';
export * from './model/commands.ts';
export * from './model/decimal.ts';
export * from './model/enums.ts';
export * from './model/events.ts';
export * from './model/ids.ts';
export * from './model/market.ts';
export * from './model/result-code.ts';
export {
  Core,
  CoreBusyError,
  CoreConfigError,
  type CoreOptions,
  type DurableConsumer,
  type EventsListener,
} from './runtime/core.ts';
export { InlineEngine } from './runtime/inline-engine.ts';
export { type Balance, FEE_ACCOUNT, type RiskState } from './runtime/risk.ts';
export type { CommandInput } from './runtime/sequencer.ts';
export { type VerifyResult, verify } from './runtime/verify.ts';
export { wallClockMicros } from './runtime/wall-clock.ts';
