export * from './call';
export { answerOf, attemptFetch, attemptFetchWith, attemptStream, bodyText, streamOf, type ClientConfig, type FetchApi, type GeneratedResponse } from './transport';
