/** The credit-quota run suite (test/support/quota-run-suite.ts), each charge made over HTTP. */
import { quotaRunSuite } from '../../test/support/quota-run-suite';

quotaRunSuite('credit-quota runs charged over HTTP', { usageJournal: false });
