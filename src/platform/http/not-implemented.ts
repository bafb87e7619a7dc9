import { AppError } from '../errors';

const NOT_IMPLEMENTED = Symbol.for('agent-store.not-implemented');

/** The handler of an operation that is specified but not built yet: a canonical 501. */
export function notImplemented(operationId: string): (...args: any[]) => Promise<never> {
  const handler = async () => {
    throw new AppError('NOT_IMPLEMENTED', `${operationId} is specified but not implemented yet`, { operationId });
  };
  return Object.assign(handler, { [NOT_IMPLEMENTED]: true });
}

export function isNotImplemented(handler: unknown): boolean {
  return typeof handler === 'function' && (handler as any)[NOT_IMPLEMENTED] === true;
}
