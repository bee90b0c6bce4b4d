// The lab: a local httpbin-like server with fault injection, a fake API, a synthetic site and
// files, for tests, examples, benchmarks and demos (docs/lab.md).
export { startLab, type Lab, type LabOptions } from './server.ts';
export { siteSpec, siteCounts, pageDepth, pageTitle, type SiteSpec, type SiteOptions, type SiteCounts } from './site.ts';
export { fileBytes, fileKey, dispositionFor, DEFAULT_FILE_SIZE } from './files.ts';
export { lyingFileBytes, lieProfile, lieVersion, LIE_VERSIONS, type LieProfile } from './lies.ts';
export { user, post, postsOf, POSTS_PER_USER, type LabUser, type LabPost } from './users.ts';
export { fillBytes, hash32 } from './rng.ts';
export { PROFILES, profileSite, profileFile, writeProfileSite, type ProfileName, type ProfileSite, type ProfilePage, type ProfileFile, type ProfileOptions } from './profiles.ts';
