// How an encrypted channel loads its decryption code (tweetnacl) the first time one is
// subscribed. The bundles swap this module: see scripts/build.mjs.

/** Resolves with the encryption module ({decrypt, decodeKey}). */
export const loadEncryption = () => import('./encryption.js');
