export * from './call';
export { answerOf, attemptFetch, attemptFetchWith, type ClientConfig, type FetchApi, type GeneratedResponse } from './transport';
