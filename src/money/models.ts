/**
 * Wallets as an objection model, for reading them as a relation of an org or an instance
 * (`withGraphFetched('wallet')`). Every change to a wallet stays in the hand-written SQL of
 * this module (row locks, ledger sequence, balance checks in one statement): see README "Data access".
 */
import { Model } from 'objection';

export class WalletModel extends Model {
  static override tableName = 'wallets';
  declare id: string;
  declare org_id: string;
  declare project_id: string | null;
  declare balance: number;
  declare reserved: number;
  declare paid_balance: number;
  declare granted_balance: number;
  declare low_balance_threshold: number | null;
  declare created_at: Date;
  declare updated_at: Date;
}
