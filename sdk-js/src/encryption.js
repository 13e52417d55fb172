// End-to-end decryption for private-encrypted channels (PROTOCOL.md §11): NaCl secretbox with
// a per-channel key the auth endpoint hands out. Loaded lazily, only when such a channel is used.
import nacl from 'tweetnacl';

/** Decodes standard base64 into bytes. Throws on invalid input. */
export function decodeBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Decrypts {nonce, ciphertext} (both base64) with a 32-byte key. Returns the plaintext string,
 * or null when the box does not open (wrong key, tampered data) or the input is malformed.
 */
export function decrypt(key, payload) {
  if (!payload || typeof payload.nonce !== 'string' || typeof payload.ciphertext !== 'string') return null;
  try {
    const opened = nacl.secretbox.open(decodeBase64(payload.ciphertext), decodeBase64(payload.nonce), key);
    return opened ? new TextDecoder().decode(opened) : null;
  } catch {
    return null;
  }
}

/** Validates and decodes a base64 shared_secret into a secretbox key; null if unusable. */
export function decodeKey(sharedSecret) {
  try {
    const key = decodeBase64(sharedSecret);
    return key.length === nacl.secretbox.keyLength ? key : null;
  } catch {
    return null;
  }
}
