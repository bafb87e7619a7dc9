export * from './call';
export { answerOf, attemptFetch, type ClientConfig, type FetchApi, type GeneratedResponse } from './transport';
