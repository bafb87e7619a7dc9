/** The credit-quota run suite (test/support/quota-run-suite.ts), each charge recorded in the usage journal (PostgreSQL). */
import { quotaRunSuite } from '../../test/support/quota-run-suite';

quotaRunSuite('credit-quota runs recorded in the usage journal', { usageJournal: true });
