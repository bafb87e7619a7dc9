/** The money domain: wallets, the append-only ledger, two-phase billing. See wallets.ts / billing.ts. */
export * from './types';
export {
  createWallet,
  getWallet,
  topUp,
  history,
  setLowBalanceThreshold,
  type CreateWalletInput,
  type TopUpInput,
  type TopUpResult,
  type HistoryInput,
  type HistoryPage,
} from './wallets';
export {
  authorize,
  settle,
  voidReservation,
  getReservation,
  expireReservations,
  type AuthorizeInput,
  type AuthorizeResult,
  type SettleInput,
  type SettleResult,
  type SettleEntry,
  type VoidResult,
  type ExpireResult,
} from './billing';
export { BillingEngine, type BillingEngineOptions, type BillingEngineStats } from './engine';
export { startMoneySweepers, type SweeperOptions, type Sweepers } from './sweeper';
