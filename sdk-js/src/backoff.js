// Reconnection delays: exponential backoff with jitter, so that thousands of clients dropped
// by one server restart do not all come back in the same instant.

/**
 * Returns the delay in ms before reconnection attempt `attempt` (0 = first retry): a random
 * value in [d/2, d] where d = min(maxDelay, baseDelay * 2^attempt). Never negative.
 */
export function backoffDelay(attempt, baseDelay = 1000, maxDelay = 30000, random = Math.random) {
  const ceiling = Math.min(maxDelay, baseDelay * 2 ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
