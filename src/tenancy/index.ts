export * from './roles';
export * from './scope';
export * from './page';
export * from './users';
export * from './orgs';
export * from './members';
export * from './teams';
export * from './project-api-keys';
